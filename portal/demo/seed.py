"""The demo world: two agencies, four clinics and one login per role (demo mode only)."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Clinic, Membership, Role, User
from portal.services.accounts import hash_password

DEMO_PASSWORD = "demo"  # noqa: S105 — published demo credential, refused outside demo mode

AGENCIES = [
    (
        "Harbour Health Partners",
        "harbour",
        [
            ("Bondi Physio", "bondi-physio"),
            ("Manly Allied Health", "manly-allied"),
            ("Coogee Podiatry", "coogee-podiatry"),
        ],
    ),
    ("Northside Physio Group", "northside", [("Chatswood Physio", "chatswood-physio")]),
]

# email, name, agency slug, role, clinic slugs (empty for agency admins)
LOGINS = [
    ("demo@example.com", "Dana Admin", "harbour", Role.AGENCY_ADMIN, []),
    (
        "staff@example.com",
        "Sam Staff",
        "harbour",
        Role.AGENCY_STAFF,
        ["bondi-physio", "manly-allied"],
    ),
    ("manager@example.com", "Morgan Manager", "harbour", Role.CLINIC_MANAGER, ["bondi-physio"]),
    ("viewer@example.com", "Vic Viewer", "harbour", Role.VIEWER, ["bondi-physio"]),
    ("other@example.com", "Olly Other", "northside", Role.AGENCY_ADMIN, []),
]


def _agency(name: str, slug: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.slug == slug))
    if agency is None:
        agency = Agency(name=name, slug=slug)
        db.session.add(agency)
        db.session.flush()
    return agency


def _clinic(agency: Agency, name: str, slug: str) -> Clinic:
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        clinic = Clinic(agency_id=agency.id, name=name, slug=slug)
        db.session.add(clinic)
        db.session.flush()
    return clinic


def _login(email: str, name: str, agency: Agency, role: Role, clinics: list[Clinic | None]) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
    if not user.memberships:
        for clinic in clinics or [None]:
            user.memberships.append(
                Membership(agency_id=agency.id, clinic_id=clinic.id if clinic else None, role=role)
            )
    return user


def seed_demo() -> dict[str, Agency]:
    """Create what is missing of the demo world; running it twice changes nothing."""
    agencies: dict[str, Agency] = {}
    clinics: dict[str, Clinic] = {}
    for name, slug, clinic_specs in AGENCIES:
        agencies[slug] = _agency(name, slug)
        for clinic_name, clinic_slug in clinic_specs:
            clinics[clinic_slug] = _clinic(agencies[slug], clinic_name, clinic_slug)
    for email, name, agency_slug, role, clinic_slugs in LOGINS:
        _login(email, name, agencies[agency_slug], role, [clinics[s] for s in clinic_slugs])
    db.session.flush()
    return agencies
