"""Agency admins give people roles in the agency's clinics (people join by invitation:
`services/onboarding/invitations.py`), remove and deactivate them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Membership, Role, User
from portal.services import DomainError
from portal.services.audit import record_event


def list_agency_users(agency: Agency) -> list[User]:
    stmt = (
        select(User)
        .join(Membership)
        .where(Membership.agency_id == agency.id)
        .distinct()
        .order_by(User.name)
    )
    return list(db.session.scalars(stmt))


def _admin_count(agency: Agency, excluding: User) -> int:
    stmt = select(Membership).where(
        Membership.agency_id == agency.id,
        Membership.role == Role.AGENCY_ADMIN,
        Membership.user_id != excluding.id,
    )
    return len(list(db.session.scalars(stmt)))


def check_access_choice(agency: Agency, role: Role, clinic_ids: Iterable[int]) -> set[int]:
    """The chosen clinics, if `role` on them may be given in this agency."""
    chosen = set(clinic_ids)
    own_clinics = {c.id for c in agency.clinics}
    if not chosen <= own_clinics:
        raise DomainError("Choose clinics of this agency only.")
    if role != Role.AGENCY_ADMIN and not chosen:
        raise DomainError("Choose at least one clinic for this role.")
    return chosen


def grant_access(agency: Agency, user: User, role: Role, clinic_ids: Iterable[int]) -> None:
    """Replace the user's memberships in this agency with `role` (on the chosen clinics)."""
    chosen = check_access_choice(agency, role, clinic_ids)
    for membership in [m for m in user.memberships if m.agency_id == agency.id]:
        user.memberships.remove(membership)
    db.session.flush()
    targets: list[int | None] = [None] if role == Role.AGENCY_ADMIN else [*sorted(chosen)]
    for clinic_id in targets:
        user.memberships.append(Membership(agency_id=agency.id, clinic_id=clinic_id, role=role))
    db.session.flush()


def set_user_access(
    agency: Agency, actor: User, user: User, role: Role, clinic_ids: Iterable[int]
) -> None:
    """Change the role (and clinics) of someone already in this agency."""
    chosen = check_access_choice(agency, role, clinic_ids)
    was_admin = any(
        m.agency_id == agency.id and m.role == Role.AGENCY_ADMIN for m in user.memberships
    )
    if was_admin and role != Role.AGENCY_ADMIN and _admin_count(agency, user) == 0:
        raise DomainError("An agency needs at least one admin; make someone else admin first.")
    grant_access(agency, user, role, chosen)
    names = [c.name for c in agency.clinics if c.id in chosen]
    record_event(
        "user.set_access",
        actor,
        agency=agency,
        target=user.email,
        detail={"role": str(role), "clinics": names},
    )


def is_member(agency: Agency, email: str) -> bool:
    stmt = (
        select(Membership.id)
        .join(User)
        .where(Membership.agency_id == agency.id, User.email == email)
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def remove_user_from_agency(agency: Agency, actor: User, user: User) -> None:
    is_admin = any(
        m.agency_id == agency.id and m.role == Role.AGENCY_ADMIN for m in user.memberships
    )
    if is_admin and _admin_count(agency, user) == 0:
        raise DomainError("An agency needs at least one admin.")
    for membership in [m for m in user.memberships if m.agency_id == agency.id]:
        user.memberships.remove(membership)
    db.session.flush()
    record_event("user.remove", actor, agency=agency, target=user.email)


def user_in_agency_or_none(agency: Agency, user_id: int) -> User | None:
    """A user reachable from this agency (has a membership in it), else None."""
    stmt = (
        select(User)
        .join(Membership)
        .where(Membership.agency_id == agency.id, User.id == user_id)
        .limit(1)
    )
    return db.session.scalar(stmt)


def end_sessions_of(user: User, actor: User, agency: Agency | None = None) -> None:
    """Sign the person out of every browser and device, this one included."""
    user.end_sessions()
    record_event("user.sign_out_everywhere", actor, agency=agency, target=user.email)
    db.session.flush()


def deactivate_user(agency: Agency, actor: User, user: User) -> None:
    """The person can no longer sign in, and every session of theirs ends now."""
    if user.id == actor.id:
        raise DomainError("You cannot deactivate yourself.")
    if {m.agency_id for m in user.memberships} - {agency.id}:
        raise DomainError(
            "This person also works with another agency: remove them from this agency instead."
        )
    is_admin = any(m.role == Role.AGENCY_ADMIN for m in user.memberships)
    if is_admin and _admin_count(agency, user) == 0:
        raise DomainError("An agency needs at least one admin; make someone else admin first.")
    user.active = False
    user.end_sessions()
    record_event("user.deactivate", actor, agency=agency, target=user.email)
    db.session.flush()


def reactivate_user(agency: Agency, actor: User, user: User) -> None:
    user.active = True
    record_event("user.reactivate", actor, agency=agency, target=user.email)
    db.session.flush()
