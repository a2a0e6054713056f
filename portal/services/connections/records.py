"""A clinic's stored connection to an upstream: its sealed secrets, its health, unlinking.

Credentials live sealed in `Connection.sealed_secrets`; only their last four characters are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, update

from portal.clients import AuthError, UpstreamError
from portal.crypto import secret_box
from portal.extensions import db
from portal.models import Clinic, Connection, ConnectionStatus, Provider, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.own_transaction import in_own_transaction
from portal.services.problems.sources import note_connection_health
from portal.tenancy import owned

T = TypeVar("T")


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


def clinics_with_linked_connections() -> list[Clinic]:
    """Every clinic with at least one linked account (stored credentials), by id."""
    linked = select(Connection.clinic_id).where(Connection.sealed_secrets.is_not(None))
    return list(db.session.scalars(select(Clinic).where(Clinic.id.in_(linked)).order_by(Clinic.id)))


def connection_row(clinic: Clinic, provider: Provider) -> Connection:
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
    note_connection_health(conn)


def record_check_in_own_transaction(conn: Connection, error: UpstreamError) -> None:
    """`record_check`, also committed at once in its own transaction: the health a failed call
    showed stays on record even when the request that made the call fails."""
    record_check(conn, error)
    health = {c: getattr(conn, c) for c in ("status", "last_error", "last_checked_at")}
    stmt = update(Connection).where(Connection.id == conn.id).values(**health)
    in_own_transaction(lambda session: session.execute(stmt))


def probe(conn: Connection, client: Any, call: Callable[[], T], refuse_rejected: bool) -> T | None:
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


def unlink(clinic: Clinic, actor: User, provider: Provider) -> None:
    """Forget the credentials (and Reckon tokens); the row stays as 'not linked'."""
    conn = connection_or_none(clinic, provider)
    if conn is None:
        return
    conn.sealed_secrets, conn.key_hint, conn.details = None, "", {}
    conn.status, conn.last_error, conn.last_checked_at = ConnectionStatus.NOT_LINKED, "", None
    note_connection_health(conn)
    record_event("connection.unlink", actor, clinic=clinic, target=str(provider))
    db.session.flush()
