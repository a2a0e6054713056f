"""Forgotten passwords: ask for a reset link by email, and set a password from an emailed link
(a reset, or the first admin's link from `flask create-admin`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from portal.forms.auth import ForgotPasswordForm, NewPasswordForm
from portal.jobs.mail import queue_password_reset
from portal.services import DomainError
from portal.services.onboarding.credentials import (
    check_reset_throttle,
    set_password_from_link,
    user_from_link,
)
from portal.services.onboarding.links import LinkNotValid, Purpose, public_url

from .auth import forget_session, sign_in
from .htmx import done
from .transaction import failed_page, form_again

bp = Blueprint("passwords", __name__)
SENT = (
    "If an account uses {email}, a link to choose a new password is on its way. "
    "It works once, within an hour."
)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot() -> str | Response | tuple[str, int]:
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form)
    email = (form.email.data or "").strip()
    try:
        check_reset_throttle(email, request.remote_addr or "unknown")
        # Sent by the worker: this answer takes the same time whether the account exists.
        queue_password_reset(email, public_url("/"))
    except DomainError as error:
        return form_again(str(error), "auth/forgot.html", 429, form=form)
    except RedisError:
        return form_again(
            "Email cannot be sent just now; try again.", "auth/forgot.html", 503, form=form
        )
    return done(SENT.format(email=email), url_for("auth.login"), "info")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset(token: str) -> str | Response | tuple[str, int]:
    return _set_password(Purpose.RESET, token)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def setup(token: str) -> str | Response | tuple[str, int]:
    return _set_password(Purpose.SETUP, token)


def link_invalid(message: str) -> tuple[str, int]:
    """An emailed link that cannot be used (malformed, expired, used): say why, change nothing."""
    return failed_page(lambda: (render_template("auth/link_invalid.html", message=message), 400))


def _set_password(purpose: Purpose, token: str) -> str | Response | tuple[str, int]:
    try:
        user = user_from_link(purpose, token)
    except LinkNotValid as error:
        message = str(error)
        return failed_page(
            lambda: (render_template("auth/link_invalid.html", message=message), 400)
        )
    form = NewPasswordForm()
    page = "auth/set_password.html"
    if not form.validate_on_submit():
        return render_template(page, form=form, user=user, purpose=purpose)
    try:
        set_password_from_link(user, purpose, form.password.data or "")
    except DomainError as error:
        return form_again(str(error), page, form=form, user=user, purpose=purpose)
    if current_user.is_authenticated:  # whoever it was, their session is over now
        logout_user()
        forget_session()
    if purpose == Purpose.SETUP and not user.uses_totp:  # a first admin starts straight away
        sign_in(user, request.remote_addr or "unknown")
        return done(f"Welcome, {user.name}. Your password is set.", url_for("home.index"))
    flash("Your password is set and every session of yours has ended. Sign in with it.", "success")
    return redirect(url_for("auth.login"), code=303)
