"""Re-check every linked connection of a clinic and record each one's health."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Connection, ConnectionStatus, Provider
from portal.services.connections.providers import check_connection
from portal.tenancy import owned

from .context import RunContext, WorkItem
from .kind import JobKind


def run_connection_checks(ctx: RunContext) -> None:
    linked = db.session.scalars(  # in the order they were linked: the run's items show it
        owned(Connection, ctx.clinic)
        .where(Connection.sealed_secrets.is_not(None))
        .order_by(Connection.id)
    )
    items = [
        WorkItem(ref=c.provider, label=Provider(c.provider).label, payload=c.id) for c in linked
    ]

    def handle(item: WorkItem) -> str:
        conn = db.session.get(Connection, item.payload)
        assert conn is not None
        status = check_connection(conn)
        db.session.commit()  # keep the health even if a later connection fails
        if status != ConnectionStatus.OK:
            raise RuntimeError(conn.last_error or status.label)
        return f"{item.label} answered."

    ctx.process(items, handle)


# A connection's health is a problem of its own, noted after every run (not a state).
CHECK_KIND = JobKind(
    "connections.check", "Check connections", run_connection_checks, changes=frozenset()
)
