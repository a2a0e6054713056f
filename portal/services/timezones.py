"""Which time zone a page or a person reads times in: a clinic has its own; an agency has none, so
it reads in the zone most of its clinics are in (and so does a person, over their agencies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Clinic, User

DEFAULT_TIMEZONE = "Australia/Sydney"


def common_zone(agency_ids: Iterable[int]) -> str:
    """The zone most clinics of these agencies are in (Sydney when they have none)."""
    ids = set(agency_ids)
    if not ids:
        return DEFAULT_TIMEZONE
    # By id: on a tie most_common keeps the zone seen first, so the order must be fixed.
    zones = db.session.scalars(
        select(Clinic.timezone).where(Clinic.agency_id.in_(ids)).order_by(Clinic.id)
    )
    common = Counter(zones).most_common(1)
    return common[0][0] if common else DEFAULT_TIMEZONE


def agency_timezone(agency: Agency) -> str:
    return common_zone([agency.id])


def user_timezone(user: User) -> str:
    """The zone most of the person's agencies' clinics are in."""
    return common_zone(m.agency_id for m in user.memberships)
