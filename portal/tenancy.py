"""The one place that resolves the current agency or clinic from the URL and checks access.

Clinic-scoped blueprints are mounted under `/c/<clinic>` and agency-scoped ones under `/a/<agency>`;
`scope_to_clinic` / `scope_to_agency` wire them so no view can forget the check. Rows a clinic owns
are loaded through `owned_or_404`, which always filters by the clinic.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from flask import Blueprint, abort, g, request
from flask_login import current_user
from sqlalchemy import Select, or_, select

from portal.extensions import db, login_manager
from portal.models import Agency, Clinic, ClinicOwned, Role, User


class Capability(StrEnum):
    VIEW = "view"
    RUN_JOBS = "run_jobs"
    MANAGE_CONNECTIONS = "manage_connections"
    MANAGE_USERS = "manage_users"
    HANDLE_PROBLEMS = "handle_problems"  # assign, snooze and resolve problems in the inbox


CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.AGENCY_ADMIN: frozenset(Capability),
    Role.AGENCY_STAFF: frozenset(
        {
            Capability.VIEW,
            Capability.RUN_JOBS,
            Capability.MANAGE_CONNECTIONS,
            Capability.HANDLE_PROBLEMS,
        }
    ),
    Role.CLINIC_MANAGER: frozenset(
        {
            Capability.VIEW,
            Capability.RUN_JOBS,
            Capability.MANAGE_CONNECTIONS,
            Capability.HANDLE_PROBLEMS,
        }
    ),
    Role.VIEWER: frozenset({Capability.VIEW}),
}

M = TypeVar("M", bound=ClinicOwned)


def role_in_clinic(user: User, clinic: Clinic) -> Role | None:
    """The user's role in this clinic: an agency admin role wins over a clinic role."""
    roles = [
        Role(m.role)
        for m in user.memberships
        if m.agency_id == clinic.agency_id and m.clinic_id in (None, clinic.id)
    ]
    if not roles:
        return None
    return min(roles, key=list(Role).index)


def accessible_clinics(user: User) -> list[Clinic]:
    """Every clinic the user can open, in agency then clinic name order."""
    admin_agencies = [m.agency_id for m in user.memberships if m.role == Role.AGENCY_ADMIN]
    clinic_ids = [m.clinic_id for m in user.memberships if m.clinic_id is not None]
    stmt = (
        select(Clinic)
        .join(Agency)
        .where(or_(Clinic.agency_id.in_(admin_agencies), Clinic.id.in_(clinic_ids)))
        .order_by(Agency.name, Clinic.name)
    )
    return list(db.session.scalars(stmt))


def agency_clinics_for(user: User, agency: Agency, capability: Capability) -> list[Clinic]:
    """The agency's clinics where the user's role allows `capability` (admins: all of them)."""
    found = []
    for clinic in agency.clinics:
        role = role_in_clinic(user, clinic)
        if role is not None and capability in CAPABILITIES[role]:
            found.append(clinic)
    return found


def member_agencies(user: User) -> list[Agency]:
    """Every agency the user belongs to, in any role."""
    ids = {m.agency_id for m in user.memberships}
    return list(db.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)))


def administered_agencies(user: User) -> list[Agency]:
    ids = [m.agency_id for m in user.memberships if m.role == Role.AGENCY_ADMIN]
    return list(db.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)))


def can(capability: Capability) -> bool:
    role = g.get("role")
    return role is not None and capability in CAPABILITIES[role]


def require(capability: Capability) -> None:
    """403 unless the current user's role in the current clinic or agency allows this."""
    if not can(capability):
        abort(403)


def current_clinic() -> Clinic:
    clinic: Clinic = g.clinic
    return clinic


def current_agency() -> Agency:
    agency: Agency = g.agency
    return agency


def owned(model: type[M], clinic: Clinic) -> Select[M]:
    """A select of the clinic's own rows of `model`; build every clinic-owned query from this."""
    return select(model).where(model.clinic_id == clinic.id)


def owned_or_404(model: type[M], clinic: Clinic, ident: Any) -> M:
    """One clinic-owned row by id; another clinic's row is indistinguishable from a missing one."""
    row = db.session.execute(owned(model, clinic).where(model.id == ident)).scalar_one_or_none()
    if row is None:
        abort(404)
    return row


def clinic_for(user: User, slug: str | None, capability: Capability) -> Clinic:
    """The clinic with this slug, if `user` may do `capability` there: 404 when they do not belong
    to it (another clinic is indistinguishable from a missing one), 403 when their role is short."""
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug)) if slug else None
    role = role_in_clinic(user, clinic) if clinic else None
    if clinic is None or role is None:
        abort(404)
    if capability not in CAPABILITIES[role]:
        abort(403)
    return clinic


def scope_to_clinic(bp: Blueprint) -> Blueprint:
    """Resolve `<clinic>` for every route of `bp`: 404 unless the user belongs to it."""

    def load(slug: str | None) -> None:
        clinic = clinic_for(current_user, slug, Capability.VIEW)
        g.clinic, g.agency, g.role = clinic, clinic.agency, role_in_clinic(current_user, clinic)

    return _scoped(bp, "clinic", load)


def scope_to_agency(bp: Blueprint, *, members: bool = False) -> Blueprint:
    """Resolve `<agency>` for every route of `bp`: admins only (403 for other members), or with
    `members` every member (their views then narrow to `agency_clinics_for`); others get 404."""

    def load(slug: str | None) -> None:
        agency = db.session.scalar(select(Agency).where(Agency.slug == slug)) if slug else None
        roles = {m.role for m in current_user.memberships if agency and m.agency_id == agency.id}
        if agency is None or not roles:
            abort(404)
        g.agency = agency
        g.role = Role.AGENCY_ADMIN if Role.AGENCY_ADMIN in roles else None
        if g.role is None and request.endpoint and not members:
            abort(403)

    return _scoped(bp, "agency", load)


def _scoped(bp: Blueprint, key: str, load: Callable[[str | None], None]) -> Blueprint:
    """Take `<key>` (a slug) out of every URL of `bp`, sign in first, `load` it before each view,
    and put it back into the URLs built while it is loaded."""

    @bp.url_value_preprocessor
    def _pop_slug(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.tenant_slug = (values or {}).pop(key, None)

    @bp.before_request
    def _load() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        load(g.tenant_slug)
        return None

    @bp.url_defaults
    def _add_slug(endpoint: str, values: dict[str, Any]) -> None:
        if key not in values and key in g:
            values[key] = getattr(g, key).slug

    return bp
