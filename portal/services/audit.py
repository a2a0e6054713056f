"""Recording the audit trail."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from portal.extensions import db
from portal.models import Agency, AuditEvent, Clinic, User


def record_event(
    action: str,
    actor: User | None,
    *,
    clinic: Clinic | None = None,
    agency: Agency | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; never pass secret values in `detail`."""
    if agency is None and clinic is not None:
        agency = clinic.agency
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        clinic_id=clinic.id if clinic else None,
        agency_id=agency.id if agency else None,
        target=target,
        detail=detail or {},
        address=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    db.session.flush()
    return event
