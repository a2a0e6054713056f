"""Accepting an invitation from its emailed link: a new person chooses their password and is
signed in; someone who already has an account signs in with it and joins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.forms.auth import AcceptInvitationForm
from portal.forms.jobs import ConfirmForm
from portal.models import Invitation, Role
from portal.services import DomainError
from portal.services.onboarding.invitations import (
    accept_as_new_person,
    accept_as_signed_in,
    existing_account,
    invitation_from_link,
)
from portal.services.onboarding.links import LinkNotValid

from .auth import sign_in
from .htmx import done
from .passwords import link_invalid
from .transaction import form_again

bp = Blueprint("invitations", __name__)


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def accept(token: str) -> str | Response | tuple[str, int]:
    try:
        invitation = invitation_from_link(token)
    except LinkNotValid as error:
        return link_invalid(str(error))
    if current_user.is_authenticated:
        return _join_signed_in(invitation)
    if existing_account(invitation) is not None:
        return render_template("invitations/sign_in_first.html", **_context(invitation))
    return _new_person(invitation)


def _context(invitation: Invitation) -> dict[str, Any]:
    return {
        "invitation": invitation,
        "role_label": Role(invitation.role).label,
        "here": request.path,
    }


def _join_signed_in(invitation: Invitation) -> str | Response | tuple[str, int]:
    form, page = ConfirmForm(), "invitations/join.html"
    if request.method == "GET" or not form.validate_on_submit():
        return render_template(page, form=form, **_context(invitation))
    try:
        accept_as_signed_in(invitation, current_user)
    except DomainError as error:
        return form_again(str(error), page, form=form, **_context(invitation))
    agency = invitation.agency
    return done(f"You joined {agency.name}.", url_for("home.index"))


def _new_person(invitation: Invitation) -> str | Response | tuple[str, int]:
    form, page = AcceptInvitationForm(), "invitations/accept.html"
    if request.method == "GET":
        form.name.data = invitation.name
    if not form.validate_on_submit():
        return render_template(page, form=form, **_context(invitation))
    try:
        user = accept_as_new_person(invitation, form.name.data or "", form.password.data or "")
    except DomainError as error:
        return form_again(str(error), page, form=form, **_context(invitation))
    sign_in(user, request.remote_addr or "unknown")
    return done(f"Welcome to {invitation.agency.name}, {user.name}.", url_for("home.index"))
