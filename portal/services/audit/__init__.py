"""Recording the audit trail."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from flask import has_request_context, request

from portal.extensions import db
from portal.models import Agency, AuditEvent, Clinic, User
from portal.services.own_transaction import in_own_transaction


class Where(TypedDict, total=False):
    """What an event is about besides its action and actor (the agency defaults to the clinic's)."""

    clinic: Clinic | None
    agency: Agency | None
    target: str
    detail: dict[str, Any] | None


def record_event(action: str, actor: User | None, **where: Unpack[Where]) -> AuditEvent:
    """Append one audit event; never pass secret values in `detail`."""
    event = _event(action, actor, **where)
    db.session.add(event)
    db.session.flush()
    return event


def record_event_for_each_agency(action: str, user: User, target: str = "") -> None:
    """One event per agency the person belongs to (none: one of no agency), so each agency's
    audit log shows what its people did to their own accounts (signing in, a new password)."""
    agencies: list[Agency | None] = list({m.agency_id: m.agency for m in user.memberships}.values())
    for agency in agencies or [None]:
        record_event(action, user, agency=agency, target=target)


def record_event_in_own_transaction(
    action: str, actor: User | None, **where: Unpack[Where]
) -> None:
    """`record_event`, committed at once apart from the caller's transaction: for what must stay
    on record although the request that saw it fails (a forged signature or OAuth state)."""
    event = _event(action, actor, **where)
    in_own_transaction(lambda session: session.add(event))


def _event(
    action: str,
    actor: User | None,
    *,
    clinic: Clinic | None = None,
    agency: Agency | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if agency is None and clinic is not None:
        agency = clinic.agency
    return AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        clinic_id=clinic.id if clinic else None,
        agency_id=agency.id if agency else None,
        target=target,
        detail=detail or {},
        address=(request.remote_addr or "") if has_request_context() else "",
    )
