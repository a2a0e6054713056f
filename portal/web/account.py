"""A person's own account: who they are, where they have access, their password, two-step
sign-in (agency admins), and signing out everywhere."""

from __future__ import annotations

from flask import Blueprint, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from portal.forms.auth import ChangePasswordForm, CodeForm
from portal.forms.jobs import ConfirmForm
from portal.services import DomainError
from portal.services.onboarding.credentials import change_password
from portal.services.onboarding.totp import (
    disable_totp,
    enable_totp,
    may_use_totp,
    new_totp_secret,
    provisioning_uri,
)
from portal.services.users import end_sessions_of

from .auth import forget_session, new_session
from .htmx import done
from .transaction import form_again

bp = Blueprint("account", __name__, url_prefix="/account")
ENROLLING = "totp_enrolling"  # session key: the secret being set up, until a code confirms it


def _page(**forms: object) -> dict[str, object]:
    return {
        "form": ConfirmForm(),
        "password_form": ChangePasswordForm(),
        "disable_form": CodeForm(),
        "may_use_totp": may_use_totp(current_user),
        **forms,
    }


@bp.get("/")
@login_required
def index() -> str:
    return render_template("account/index.html", **_page())


@bp.post("/password")
@login_required
def password() -> Response | tuple[str, int]:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("account/index.html", **_page(password_form=form)), 400
    user = current_user._get_current_object()  # the row itself: login_user keeps it
    try:
        change_password(
            user,
            form.current.data or "",
            form.password.data or "",
            request.remote_addr or "unknown",
        )
    except DomainError as error:
        return form_again(str(error), "account/index.html", 400, **_page(password_form=form))
    new_session(user)  # the epoch moved on: this session goes on under the new one
    message = "Your password is changed. Every other browser and device is signed out."
    return done(message, url_for("account.index"))


@bp.route("/two-step", methods=["GET", "POST"])
@login_required
def two_step() -> str | Response | tuple[str, int]:
    """Turn on two-step sign-in: the secret as text, then a code from the app to confirm."""
    if not may_use_totp(current_user) or current_user.uses_totp:
        return done("Nothing to set up here.", url_for("account.index"), "info")
    secret = session.get(ENROLLING) or new_totp_secret()
    session[ENROLLING] = secret
    form = CodeForm()
    context = {"form": form, "secret": secret, "uri": provisioning_uri(current_user, secret)}
    if not form.validate_on_submit():
        return render_template("account/two_step.html", **context)
    try:
        enable_totp(current_user, secret, form.code.data or "")
    except DomainError as error:
        return form_again(str(error), "account/two_step.html", 400, **context)
    session.pop(ENROLLING, None)
    message = "Two-step sign-in is on: after your password you will be asked for a code."
    return done(message, url_for("account.index"))


@bp.post("/two-step/off")
@login_required
def two_step_off() -> Response | tuple[str, int]:
    form = CodeForm()
    try:
        if not form.validate_on_submit():
            raise DomainError("Enter the code your app shows now.")
        disable_totp(current_user, form.code.data or "")
    except DomainError as error:
        return form_again(str(error), "account/index.html", 400, **_page(disable_form=form))
    return done("Two-step sign-in is off.", url_for("account.index"))


@bp.route("/sign-out-everywhere", methods=["GET", "POST"])
@login_required
def sign_out_everywhere() -> str | Response:
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("account/confirm_sign_out.html", form=form)
    end_sessions_of(current_user, current_user)
    logout_user()
    forget_session()
    return done("You are signed out on every browser and device.", url_for("auth.login"), "info")
