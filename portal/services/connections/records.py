"""Link a clinic's Cliniko, VaocherApp and Reckon accounts, check them, build their clients.

Credentials live sealed in `Connection.sealed_secrets`; only their last four characters are shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select

from portal.clients import AuthError, UpstreamError
from portal.clients.cliniko import ClinikoClient, shard_from_api_key
from portal.clients.vaocherapp import VaocherAppClient
from portal.crypto import secret_box
from portal.extensions import db
from portal.models import Clinic, Connection, ConnectionStatus, Provider, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event
from portal.tenancy import owned

T = TypeVar("T")
WEBHOOK_PATH = "/hooks/vaocherapp/{token}"  # the webhook blueprint serves this path


class NotLinked(DomainError):
    """The clinic has not linked the account this needs."""


REJECTED = {
    Provider.CLINIKO: "Cliniko rejected the API key. Check that it is still current (not revoked "
    "or regenerated in Cliniko) and that it was pasted whole, including its suffix such as -au2.",
    Provider.VAOCHERAPP: "VaocherApp rejected the API key. Check that it is current and that the "
    "live/test switch matches the key.",
    Provider.RECKON: "Reckon no longer accepts this connection. Reconnect Reckon to continue.",
}


def connection_or_none(clinic: Clinic, provider: Provider) -> Connection | None:
    return db.session.scalar(owned(Connection, clinic).where(Connection.provider == provider))


def linked_connection(clinic: Clinic, provider: Provider) -> Connection:
    """The clinic's linked account at `provider`, or NotLinked saying where to link it."""
    conn = connection_or_none(clinic, provider)
    if conn is None or not conn.sealed_secrets:
        raise NotLinked(f"Link {provider.label} on the Connections page first.")
    return conn


def clinic_connections(clinic: Clinic) -> dict[Provider, Connection | None]:
    rows = {c.provider: c for c in db.session.scalars(owned(Connection, clinic))}
    return {p: rows.get(p) for p in Provider}


def connection_health(clinics: list[Clinic]) -> dict[tuple[int, str], Connection]:
    """Every connection of these clinics, keyed by (clinic id, provider), in one query."""
    ids = [c.id for c in clinics]
    rows = db.session.scalars(select(Connection).where(Connection.clinic_id.in_(ids)))
    return {(c.clinic_id, c.provider): c for c in rows}


def _connection(clinic: Clinic, provider: Provider) -> Connection:
    conn = connection_or_none(clinic, provider)
    if conn is None:
        conn = Connection(clinic_id=clinic.id, provider=provider, details={})
        db.session.add(conn)
    return conn


def store_secrets(conn: Connection, values: dict[str, str], hint_from: str) -> None:
    conn.sealed_secrets = secret_box().seal(values)
    conn.key_hint = hint_from[-4:]


def secrets_of(conn: Connection) -> dict[str, str]:
    if not conn.sealed_secrets:
        raise NotLinked(f"{Provider(conn.provider).label} is not linked for this clinic.")
    return secret_box().open(conn.sealed_secrets)


def record_check(conn: Connection, error: UpstreamError | None) -> None:
    """Set the connection's health from the outcome of a call to its upstream."""
    conn.last_checked_at = utcnow()
    if error is None:
        conn.status, conn.last_error = ConnectionStatus.OK, ""
    elif isinstance(error, AuthError):
        conn.status = ConnectionStatus.RECONNECT_NEEDED
        conn.last_error = REJECTED[Provider(conn.provider)]
    else:
        conn.status, conn.last_error = ConnectionStatus.FAILING, str(error)


# ---- clients ------------------------------------------------------------------------------------
def cliniko_client(conn: Connection) -> ClinikoClient:
    cfg = current_app.config
    return ClinikoClient(
        secrets_of(conn)["api_key"],
        app_name=cfg["CLINIKO_APP_NAME"],
        contact_email=cfg["CLINIKO_CONTACT_EMAIL"],
        base_url_template=cfg["CLINIKO_BASE_URL_TEMPLATE"],
    )


def vaocherapp_client(conn: Connection) -> VaocherAppClient:
    return VaocherAppClient(
        secrets_of(conn)["api_key"],
        test_mode=bool(conn.detail("test_mode")),
        base_url=current_app.config["VAOCHERAPP_BASE_URL"],
    )


# ---- Cliniko ------------------------------------------------------------------------------------
def link_cliniko(clinic: Clinic, actor: User, api_key: str) -> Connection:
    """Test the key against Cliniko, then store it with the account's name and subdomain."""
    api_key = api_key.strip()
    shard = shard_from_api_key(api_key)  # UnknownShard says what is wrong with the suffix
    conn = _connection(clinic, Provider.CLINIKO)
    store_secrets(conn, {"api_key": api_key}, api_key)
    conn.details = {"shard": shard}
    _check_cliniko(conn, refuse_rejected=True)
    record_event("connection.link", actor, clinic=clinic, target="cliniko")
    db.session.flush()
    return conn


def _probe(conn: Connection, client: Any, call: Callable[[], T], refuse_rejected: bool) -> T | None:
    """Call the upstream; a failure is recorded as the connection's health (None returned), and a
    rejected key is refused outright while linking, so it is never saved."""
    try:
        return call()
    except AuthError as error:
        if refuse_rejected:
            raise DomainError(REJECTED[Provider(conn.provider)]) from error
        record_check(conn, error)
    except UpstreamError as error:
        record_check(conn, error)
    finally:
        client.close()
    return None


def _check_cliniko(conn: Connection, refuse_rejected: bool = False) -> None:
    client = cliniko_client(conn)
    answer = _probe(
        conn, client, lambda: (client.get_user(), client.get_settings()), refuse_rejected
    )
    if answer is None:
        return
    user, settings = answer
    conn.details = {
        **conn.details,
        "account_name": settings.account_name,
        "subdomain": settings.subdomain,
        "user_name": f"{user.first_name} {user.last_name}".strip(),
    }
    record_check(conn, None)


# ---- VaocherApp ---------------------------------------------------------------------------------
def link_vaocherapp(clinic: Clinic, actor: User, api_key: str, test_mode: bool) -> Connection:
    """Test the key, store it, and make sure the clinic has a webhook URL and secret."""
    api_key = api_key.strip()
    conn = _connection(clinic, Provider.VAOCHERAPP)
    old = secret_box().open(conn.sealed_secrets) if conn.sealed_secrets else {}
    webhook_secret = old.get("webhook_secret") or _new_webhook_secret()
    store_secrets(conn, {"api_key": api_key, "webhook_secret": webhook_secret}, api_key)
    conn.details = {"test_mode": test_mode}
    conn.webhook_token = conn.webhook_token or secrets.token_urlsafe(24)
    _check_vaocherapp(conn, refuse_rejected=True)
    detail = {"test_mode": test_mode}
    record_event("connection.link", actor, clinic=clinic, target="vaocherapp", detail=detail)
    db.session.flush()
    return conn


def _new_webhook_secret() -> str:
    return secrets.token_hex(32)


def _check_vaocherapp(conn: Connection, refuse_rejected: bool = False) -> None:
    client = vaocherapp_client(conn)
    account = _probe(conn, client, client.get_account, refuse_rejected)
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
    stmt = select(Connection).where(
        Connection.webhook_token == token, Connection.provider == Provider.VAOCHERAPP
    )
    return db.session.scalar(stmt)


# ---- all providers ------------------------------------------------------------------------------
def check_connection(conn: Connection) -> ConnectionStatus:
    """Call the upstream with the stored credentials and record the connection's health."""
    checks: dict[str, Callable[[Connection], None]] = {
        Provider.CLINIKO: _check_cliniko,
        Provider.VAOCHERAPP: _check_vaocherapp,
    }
    if conn.provider == Provider.RECKON:
        from .reckon_link import check_reckon

        check_reckon(conn)
    else:
        checks[conn.provider](conn)
    db.session.flush()
    return ConnectionStatus(conn.status)


def unlink(clinic: Clinic, actor: User, provider: Provider) -> None:
    """Forget the credentials (and Reckon tokens); the row stays as 'not linked'."""
    conn = connection_or_none(clinic, provider)
    if conn is None:
        return
    conn.sealed_secrets, conn.key_hint, conn.details = None, "", {}
    conn.status, conn.last_error, conn.last_checked_at = ConnectionStatus.NOT_LINKED, "", None
    record_event("connection.unlink", actor, clinic=clinic, target=str(provider))
    db.session.flush()
