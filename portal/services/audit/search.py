"""Reading an agency's audit log: filters, the rows to show (names, local times, sentences)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select

from portal.extensions import db
from portal.models import Agency, AuditEvent, User
from portal.services.timezones import agency_timezone

from .wording import ACTIONS, area_prefixes, describe

SYSTEM = "The portal"  # the actor of what the portal did by itself


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    clinic_id: int | None = None
    action: str = ""  # one action ("user.sign_in"), or an area ("people") for all of its own
    date_from: date | None = None  # the agency's local dates, both ends included
    date_to: date | None = None


@dataclass(frozen=True)
class AuditLine:
    """One event as people read it."""

    event: AuditEvent
    when: datetime  # in `zone`
    zone: str
    who: str
    who_email: str
    clinic: str
    sentence: str


def audit_query(agency: Agency, filters: AuditFilters) -> Select[AuditEvent]:
    """The agency's events that pass `filters`, newest first."""
    stmt = select(AuditEvent).where(AuditEvent.agency_id == agency.id)
    if filters.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if filters.clinic_id is not None:
        stmt = stmt.where(AuditEvent.clinic_id == filters.clinic_id)
    if filters.action in ACTIONS:
        stmt = stmt.where(AuditEvent.action == filters.action)
    elif prefixes := area_prefixes(filters.action):
        stmt = stmt.where(or_(*(AuditEvent.action.startswith(p) for p in prefixes)))
    zone = ZoneInfo(agency_timezone(agency))
    if filters.date_from is not None:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to is not None:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, zone)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_people(agency: Agency) -> list[User]:
    """Everyone who has done something in the agency's log (people since removed too)."""
    actors = select(AuditEvent.actor_id).where(AuditEvent.agency_id == agency.id).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(actors)).order_by(User.name)))


def known_action(action: str) -> bool:
    return action in ACTIONS or bool(area_prefixes(action))


def audit_lines(
    agency: Agency, events: list[AuditEvent], titles: Mapping[str, str] | None = None
) -> list[AuditLine]:
    """Each event with its sentence and its time in the clinic's zone (else the agency's)."""
    clinics = {c.id: c for c in agency.clinics}
    agency_zone = agency_timezone(agency)
    lines = []
    for event in events:
        clinic = clinics.get(event.clinic_id) if event.clinic_id else None
        zone = clinic.timezone if clinic else agency_zone
        actor = event.actor.name if event.actor else SYSTEM
        lines.append(
            AuditLine(
                event=event,
                when=event.at.astimezone(ZoneInfo(zone)),
                zone=zone,
                who=actor,
                who_email=event.actor.email if event.actor else "",
                clinic=clinic.name if clinic else "",
                sentence=describe(event, actor, clinic.name if clinic else "", titles),
            )
        )
    return lines
