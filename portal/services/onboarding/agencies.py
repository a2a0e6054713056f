"""An agency's start: its first admin (from `flask create-admin`) and the clinics its admins add."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import available_timezones

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Agency, Clinic, Role, User
from portal.services import DomainError
from portal.services.accounts import normalise_email
from portal.services.audit import record_event
from portal.services.users import grant_access

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_LENGTH = (2, 80)


@dataclass(frozen=True)
class FirstAdmin:
    agency: Agency
    user: User
    agency_created: bool
    account_created: bool


def create_first_admin(agency_name: str, email: str, name: str) -> FirstAdmin:
    """The agency (made when no agency has that name) and `email` as its admin. A new account
    has no password: the operator sends the person a link that sets it."""
    agency_name, name, email = agency_name.strip(), name.strip(), normalise_email(email)
    if not agency_name or not name or "@" not in email:
        raise DomainError("Give the agency's name, the person's name and their email.")
    agency = db.session.scalar(select(Agency).where(func.lower(Agency.name) == agency_name.lower()))
    agency_created = agency is None
    if agency is None:
        agency = Agency(name=agency_name[:200], slug=_free_agency_slug(agency_name))
        db.session.add(agency)
        db.session.flush()
        record_event("agency.create", None, agency=agency, target=agency.name)
    user = db.session.scalar(select(User).where(User.email == email))
    account_created = user is None
    if user is None:
        user = User(email=email, name=name[:200], password_hash="")
        db.session.add(user)
        db.session.flush()
    grant_access(agency, user, Role.AGENCY_ADMIN, [])
    record_event("user.create_admin", None, agency=agency, target=email)
    return FirstAdmin(agency, user, agency_created, account_created)


def add_clinic(agency: Agency, actor: User, name: str, slug: str, timezone: str) -> Clinic:
    """A new clinic of the agency, at /c/<slug>/, dating its books in `timezone`."""
    name, slug = name.strip(), slug.strip().lower()
    if not name:
        raise DomainError("Give the clinic a name.")
    check_slug(slug)
    if timezone not in available_timezones():
        raise DomainError("Choose a time zone from the list (e.g. Australia/Sydney).")
    if db.session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
        raise DomainError(f"The address /c/{slug}/ is taken: choose another.")
    clinic = Clinic(agency_id=agency.id, name=name[:200], slug=slug, timezone=timezone)
    db.session.add(clinic)
    db.session.flush()
    db.session.refresh(agency, ["clinics"])
    detail = {"name": clinic.name, "slug": slug, "timezone": timezone}
    record_event("clinic.add", actor, clinic=clinic, target=clinic.name, detail=detail)
    return clinic


def check_slug(slug: str) -> None:
    low, high = SLUG_LENGTH
    if not (low <= len(slug) <= high and SLUG.match(slug)):
        raise DomainError(
            f"Use {low} to {high} lower-case letters, digits and single hyphens for the address "
            "(e.g. bondi-physio)."
        )


def slug_from(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: SLUG_LENGTH[1]] or "agency"


def _free_agency_slug(name: str) -> str:
    base = slug_from(name)[:70].strip("-") or "agency"
    slug, n = base, 1
    while db.session.scalar(select(Agency.id).where(Agency.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug
