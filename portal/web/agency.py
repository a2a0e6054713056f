"""Agency administration: the agency's clinics (and adding one), its people and their roles,
and invitations (sent, resent, revoked). The audit log is web/audit.py's."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.forms.clinics import NewClinicForm
from portal.forms.jobs import ConfirmForm
from portal.forms.users import AccessForm, NewUserForm
from portal.models import Invitation, Provider, Role, User
from portal.services import DomainError
from portal.services.onboarding.agencies import add_clinic
from portal.services.onboarding.invitations import (
    agency_invitation_or_none,
    invite_person,
    open_invitations,
    resend_invitation,
    revoke_invitation,
)
from portal.services.onboarding.links import Purpose, lifetime_words
from portal.services.problems.overview import clinic_overview
from portal.services.users import (
    deactivate_user,
    list_agency_users,
    reactivate_user,
    remove_user_from_agency,
    set_user_access,
    user_in_agency_or_none,
)
from portal.tenancy import Capability, current_agency, require, scope_to_agency

from .confirm import Confirmation, ask, confirmed
from .htmx import done
from .transaction import failed, form_again

bp = scope_to_agency(Blueprint("agency", __name__))


def _clinic_choices(form: AccessForm) -> None:
    form.clinics.choices = [SelectChoice(c.id, c.name) for c in current_agency().clinics]


def _agency_user_or_404(user_id: int) -> User:
    user = user_in_agency_or_none(current_agency(), user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
def dashboard() -> str:
    require(Capability.MANAGE_USERS)
    return render_template(
        "agency/dashboard.html", rows=clinic_overview(current_agency().clinics), providers=Provider
    )


@bp.route("/clinics/new", methods=["GET", "POST"])
def new_clinic() -> str | Response | tuple[str, int]:
    require(Capability.MANAGE_USERS)
    form, page = NewClinicForm(), "agency/clinic_new.html"
    zones = sorted(z for z in available_timezones() if z.startswith(("Australia/", "Pacific/")))
    if not form.validate_on_submit():
        return render_template(page, form=form, zones=zones)
    try:
        clinic = add_clinic(
            current_agency(),
            current_user,
            form.name.data or "",
            form.slug.data or "",
            (form.timezone.data or "").strip(),
        )
    except DomainError as error:
        return form_again(str(error), page, form=form, zones=zones)
    message = f"{clinic.name} added. Link its accounts on its Connections page."
    return done(message, url_for("connections.index", clinic=clinic.slug))


@bp.get("/users")
def users() -> str:
    require(Capability.MANAGE_USERS)
    agency = current_agency()
    return render_template(
        "agency/users.html",
        users=list_agency_users(agency),
        invitations=open_invitations(agency),
        confirm_form=ConfirmForm(),
        removal=removal,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> str | Response | tuple[str, int]:
    """Invite a person: they choose their own password from the emailed link."""
    require(Capability.MANAGE_USERS)
    form = NewUserForm()
    _clinic_choices(form)
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        try:
            invite_person(
                current_agency(),
                current_user,
                email,
                form.name.data or "",
                Role(form.role.data),
                form.clinics.data or [],
            )
        except DomainError as error:
            return form_again(str(error), "agency/user_new.html", form=form)
        # The same words whether or not the address has an account elsewhere.
        lifetime = lifetime_words(Purpose.INVITATION)
        message = f"Invitation sent to {email}. The link works once, for {lifetime}."
        return done(message, url_for("agency.users"))
    return render_template("agency/user_new.html", form=form)


def _invitation_or_404(invitation_id: int) -> Invitation:
    invitation = agency_invitation_or_none(current_agency(), invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.post("/invitations/<int:invitation_id>/resend")
def resend(invitation_id: int) -> Response:
    require(Capability.MANAGE_USERS)
    invitation = _invitation_or_404(invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    resend_invitation(invitation, current_user)  # a DomainError: rolled back and flashed
    return done(f"Invitation sent again to {invitation.email}.", url_for("agency.users"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
def revoke(invitation_id: int) -> str | Response:
    require(Capability.MANAGE_USERS)
    invitation = _invitation_or_404(invitation_id)
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("agency/confirm_revoke.html", invitation=invitation, form=form)
    revoke_invitation(invitation, current_user)
    return done(f"The invitation to {invitation.email} is revoked.", url_for("agency.users"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> str | Response | tuple[str, int]:
    require(Capability.MANAGE_USERS)
    agency, user = current_agency(), _agency_user_or_404(user_id)
    mine = [m for m in user.memberships if m.agency_id == agency.id]
    form = AccessForm(
        role=mine[0].role if mine else Role.VIEWER,
        clinics=[m.clinic_id for m in mine if m.clinic_id],
    )
    _clinic_choices(form)
    if form.validate_on_submit():
        try:
            set_user_access(
                agency, current_user, user, Role(form.role.data), form.clinics.data or []
            )
        except DomainError as error:
            return form_again(str(error), "agency/user_edit.html", form=form, user=user)
        return done(f"Access for {user.name} saved.", url_for("agency.users"))
    return render_template("agency/user_edit.html", form=form, user=user)


def removal(user: User) -> Confirmation:
    """What removing a person from the agency does, asked before it is done."""
    return Confirmation(
        title=f"Remove {user.name} from {current_agency().name}?",
        body="They lose access to all of the agency's clinics at once. Their account and "
        "history stay; you can invite them again later.",
        yes=f"Yes, remove {user.name}",
        no="No, keep them",
    )


@bp.route("/users/<int:user_id>/remove", methods=["GET", "POST"])
def remove_user(user_id: int) -> str | Response | tuple[str, int]:
    require(Capability.MANAGE_USERS)
    user = _agency_user_or_404(user_id)
    back = url_for("agency.users")
    if not confirmed():
        return ask(removal(user), back)
    try:
        remove_user_from_agency(current_agency(), current_user, user)
    except DomainError as error:
        return failed(str(error), back)
    return done(f"{user.name} no longer has access to this agency.", back)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate(user_id: int) -> str | Response:
    require(Capability.MANAGE_USERS)
    user = _agency_user_or_404(user_id)
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("agency/confirm_deactivate.html", user=user, form=form)
    deactivate_user(current_agency(), current_user, user)
    return done(f"{user.name} is deactivated and signed out everywhere.", url_for("agency.users"))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    require(Capability.MANAGE_USERS)
    user = _agency_user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reactivate_user(current_agency(), current_user, user)
    return done(f"{user.name} can sign in again.", url_for("agency.users"))
