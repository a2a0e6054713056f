"""VaocherApp: link an API key, check it, build the client; the webhook URL and its secret."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal.clients.vaocherapp import VaocherAppClient
from portal.crypto import secret_box
from portal.extensions import db, redis_holder
from portal.models import Clinic, Connection, Provider, User
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.connections.records import (
    connection_or_none,
    connection_row,
    probe,
    record_check,
    secrets_of,
    store_secrets,
)

WEBHOOK_PATH = "/hooks/vaocherapp/{token}"
_TOKEN_SHAPE = re.compile(
    r"[A-Za-z0-9_-]{16,64}"
)  # secrets.token_urlsafe(24) makes 32  # the webhook blueprint serves this path


def vaocherapp_client(conn: Connection) -> VaocherAppClient:
    return VaocherAppClient(
        secrets_of(conn)["api_key"],
        test_mode=bool(conn.detail("test_mode")),
        base_url=current_app.config["VAOCHERAPP_BASE_URL"],
        rate_store=redis_holder.get_or_none(),  # one window for all workers
    )


@dataclass(frozen=True)
class VaocherAppLinked:
    conn: Connection
    # The webhook secret when this link made it (to show once, for pasting into VaocherApp);
    # empty when the clinic kept the secret it had.
    new_webhook_secret: str


def link_vaocherapp(clinic: Clinic, actor: User, api_key: str, test_mode: bool) -> VaocherAppLinked:
    """Test the key, store it, and make sure the clinic has a webhook URL and secret."""
    api_key = api_key.strip()
    conn = connection_row(clinic, Provider.VAOCHERAPP)
    old = secret_box().open(conn.sealed_secrets) if conn.sealed_secrets else {}
    new_secret = "" if old.get("webhook_secret") else _new_webhook_secret()
    webhook_secret = old.get("webhook_secret") or new_secret
    store_secrets(conn, {"api_key": api_key, "webhook_secret": webhook_secret}, api_key)
    conn.details = {"test_mode": test_mode}
    conn.webhook_token = conn.webhook_token or secrets.token_urlsafe(24)
    check_vaocherapp(conn, refuse_rejected=True)
    detail = {"test_mode": test_mode}
    record_event("connection.link", actor, clinic=clinic, target="vaocherapp", detail=detail)
    db.session.flush()
    return VaocherAppLinked(conn, new_secret)


def _new_webhook_secret() -> str:
    return secrets.token_hex(32)


def check_vaocherapp(conn: Connection, refuse_rejected: bool = False) -> None:
    client = vaocherapp_client(conn)
    account = probe(conn, client, client.get_account, refuse_rejected)
    if account is None:
        return
    conn.details = {
        **conn.details,
        "account_name": account.name,
        "currency": account.currency,
        "account_id": account.id,
    }
    record_check(conn, None)


def rotate_webhook_secret(clinic: Clinic, actor: User) -> str:
    """A new webhook secret (returned once, to paste into VaocherApp); the old one stops working."""
    conn = connection_or_none(clinic, Provider.VAOCHERAPP)
    if conn is None or not conn.sealed_secrets:
        raise DomainError("Link VaocherApp first.")
    values = secrets_of(conn)
    values["webhook_secret"] = _new_webhook_secret()
    store_secrets(conn, values, values["api_key"])
    record_event("connection.rotate_webhook_secret", actor, clinic=clinic, target="vaocherapp")
    db.session.flush()
    return values["webhook_secret"]


def webhook_path(conn: Connection) -> str:
    return WEBHOOK_PATH.format(token=conn.webhook_token)


def webhook_secret_hint(conn: Connection) -> str:
    return secrets_of(conn).get("webhook_secret", "")[-4:] if conn.sealed_secrets else ""


def connection_for_webhook(token: str) -> Connection | None:
    """The connection a webhook URL's token names; None for anything not shaped like one."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    stmt = select(Connection).where(
        Connection.webhook_token == token, Connection.provider == Provider.VAOCHERAPP
    )
    return db.session.scalar(stmt)
