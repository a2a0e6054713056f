"""Reckon One: the OAuth authorization-code flow, choosing the book, and token storage that survives
crashes and concurrent refreshes (a rotated refresh token works only once)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import update

from portal.clients import AuthError, UpstreamError
from portal.clients.reckon import ReckonClient
from portal.clients.reckon_identity import ReckonIdentityClient, Tokens
from portal.clients.reckon_models import Book
from portal.crypto import secret_box
from portal.extensions import db, get_redis, redis_holder
from portal.models import Clinic, Connection, ConnectionStatus, Provider, User
from portal.models.types import utcnow
from portal.services import DomainError, UpstreamFailed
from portal.services.audit import record_event, record_event_in_own_transaction
from portal.services.connections.records import (
    REJECTED,
    connection_row,
    record_check,
    secrets_of,
    store_secrets,
)
from portal.services.own_transaction import in_own_transaction


def _sealed(tokens: Tokens) -> dict[str, str]:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat(),
    }


def _tokens(values: dict[str, Any]) -> Tokens:
    return Tokens(
        access_token=values["access_token"],
        refresh_token=values["refresh_token"],
        expires_at=datetime.fromisoformat(values["expires_at"]),
    )


class CoordinatedIdentity(ReckonIdentityClient):
    """Refreshes one connection's tokens under a Redis lock and saves them at once, in their own
    transaction, so a crash or a second process never loses the rotated refresh token."""

    def __init__(self, connection_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._connection_id = connection_id
        self._engine, self._box, self._redis = db.engine, secret_box(), get_redis()

    def refresh(self, refresh_token: str) -> Tokens:
        lock = self._redis.lock(f"portal:reckon-refresh:{self._connection_id}", timeout=60)
        with lock:
            stored = self._stored()
            if stored and stored.refresh_token != refresh_token:
                return stored  # another process rotated it while we waited
            try:
                tokens = super().refresh(refresh_token)
            except AuthError:
                self._save(
                    status=ConnectionStatus.RECONNECT_NEEDED, last_error=REJECTED[Provider.RECKON]
                )
                raise
            self._save(sealed_secrets=self._box.seal(_sealed(tokens)))
            return tokens

    def _stored(self) -> Tokens | None:
        with self._engine.connect() as conn:
            sealed = conn.scalar(
                db.select(Connection.sealed_secrets).where(Connection.id == self._connection_id)
            )
        return _tokens(self._box.open(sealed)) if sealed else None

    def _save(self, **values: Any) -> None:
        stmt = update(Connection).where(Connection.id == self._connection_id).values(**values)
        in_own_transaction(lambda session: session.execute(stmt))


def identity_client(
    redirect_uri: str = "", connection_id: int | None = None
) -> ReckonIdentityClient:
    cfg = current_app.config
    kwargs = {
        "client_id": cfg["RECKON_CLIENT_ID"],
        "client_secret": cfg["RECKON_CLIENT_SECRET"],
        "redirect_uri": redirect_uri,
        "base_url": cfg["RECKON_IDENTITY_URL"],
    }
    if connection_id is None:
        return ReckonIdentityClient(**kwargs)
    return CoordinatedIdentity(connection_id, **kwargs)


def reckon_client(conn: Connection) -> ReckonClient:
    """An API client whose token refreshes are saved for this connection."""
    return ReckonClient(
        _tokens(secrets_of(conn)),
        subscription_key=current_app.config["RECKON_SUBSCRIPTION_KEY"],
        identity=identity_client(connection_id=conn.id),
        on_tokens=lambda tokens: None,  # CoordinatedIdentity has already saved them
        base_url=current_app.config["RECKON_API_URL"],
        rate_store=redis_holder.get_or_none(),  # one window for all workers
    )


def begin_authorization(redirect_uri: str) -> tuple[str, dict[str, str]]:
    """The identity server URL to send the browser to, and the state to keep in the session."""
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24)}
    url = identity_client(redirect_uri).authorize_url(pending["state"], pending["nonce"])
    return url, pending


def complete_authorization(clinic: Clinic, actor: User, code: str, redirect_uri: str) -> Connection:
    """Exchange the one-time code and store the tokens; the user picks the book next."""
    if not code:
        raise DomainError("Reckon did not send an authorization code. Try connecting again.")
    try:
        tokens = identity_client(redirect_uri).exchange_code(code)
    except UpstreamError as error:
        raise UpstreamFailed(f"Reckon did not complete the connection: {error}") from error
    conn = connection_row(clinic, Provider.RECKON)
    store_secrets(conn, _sealed(tokens), tokens.refresh_token)
    conn.details, conn.status = {}, ConnectionStatus.NOT_LINKED  # linked once a book is chosen
    conn.last_error = ""
    record_event("connection.authorize", actor, clinic=clinic, target="reckon")
    db.session.flush()
    return conn


def record_foreign_state(actor: User) -> None:
    """Audit an OAuth callback whose state this browser did not start (or already used), in its
    own transaction: the callback is refused and rolls back."""
    record_event_in_own_transaction("connection.oauth_state_mismatch", actor, target="reckon")


def list_books(conn: Connection) -> list[Book]:
    client = reckon_client(conn)
    try:
        return client.list_books()
    finally:
        client.close()


def reachable_books(conn: Connection) -> list[Book]:
    """The books this Reckon login can reach, for the person to choose one."""
    try:
        return list_books(conn)
    except UpstreamError as error:
        raise UpstreamFailed(f"Reckon did not list the books: {error}") from error


def choose_book(clinic: Clinic, actor: User, conn: Connection, book_id: str) -> None:
    books = {b.id: b for b in reachable_books(conn)}
    if book_id not in books:
        raise DomainError("Choose one of the books this Reckon login can reach.")
    conn.details = {"book_id": book_id, "book_name": books[book_id].name}
    record_check(conn, None)
    record_event("connection.link", actor, clinic=clinic, target="reckon", detail={"book": book_id})
    db.session.flush()


def check_reckon(conn: Connection) -> None:
    """List the books with the stored tokens (refreshing them if due) and confirm ours is there."""
    if not conn.detail("book_id"):
        return
    try:
        books = list_books(conn)
    except UpstreamError as error:
        record_check(conn, error)
        return
    if conn.detail("book_id") not in {b.id for b in books}:
        conn.status, conn.last_checked_at = ConnectionStatus.FAILING, utcnow()
        conn.last_error = "The chosen Reckon book is no longer reachable with this login."
        return
    record_check(conn, None)
