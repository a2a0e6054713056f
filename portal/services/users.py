"""Agency admins add people, and give them roles in the agency's clinics."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Membership, Role, User
from portal.services import DomainError
from portal.services.accounts import hash_password, normalise_email
from portal.services.audit import record_event
from portal.services.passwords import check_new_password


def list_agency_users(agency: Agency) -> list[User]:
    stmt = (
        select(User)
        .join(Membership)
        .where(Membership.agency_id == agency.id)
        .distinct()
        .order_by(User.name)
    )
    return list(db.session.scalars(stmt))


def add_user(agency: Agency, actor: User, email: str, name: str, password: str) -> User:
    """Create the account, or reuse an existing one with that email; memberships come next."""
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        check_new_password(password, email=email, name=name)
        user = User(email=email, name=name.strip(), password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
    record_event("user.add", actor, agency=agency, target=email)
    return user


def _admin_count(agency: Agency, excluding: User) -> int:
    stmt = select(Membership).where(
        Membership.agency_id == agency.id,
        Membership.role == Role.AGENCY_ADMIN,
        Membership.user_id != excluding.id,
    )
    return len(list(db.session.scalars(stmt)))


def set_user_access(
    agency: Agency, actor: User, user: User, role: Role, clinic_ids: Iterable[int]
) -> None:
    """Replace the user's memberships in this agency with `role` (on the chosen clinics)."""
    chosen = set(clinic_ids)
    own_clinics = {c.id for c in agency.clinics}
    if not chosen <= own_clinics:
        raise DomainError("Choose clinics of this agency only.")
    if role != Role.AGENCY_ADMIN and not chosen:
        raise DomainError("Choose at least one clinic for this role.")
    was_admin = any(
        m.agency_id == agency.id and m.role == Role.AGENCY_ADMIN for m in user.memberships
    )
    if was_admin and role != Role.AGENCY_ADMIN and _admin_count(agency, user) == 0:
        raise DomainError("An agency needs at least one admin; make someone else admin first.")
    for membership in [m for m in user.memberships if m.agency_id == agency.id]:
        user.memberships.remove(membership)
    db.session.flush()
    targets: list[int | None] = [None] if role == Role.AGENCY_ADMIN else [*sorted(chosen)]
    for clinic_id in targets:
        user.memberships.append(Membership(agency_id=agency.id, clinic_id=clinic_id, role=role))
    db.session.flush()
    names = [c.name for c in agency.clinics if c.id in chosen]
    record_event(
        "user.set_access",
        actor,
        agency=agency,
        target=user.email,
        detail={"role": str(role), "clinics": names},
    )


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
