"""Signing in (with the second step, a TOTP code, for people who turned it on) and out."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.extensions import db, login_manager
from portal.forms.auth import CodeForm, LoginForm
from portal.models import User
from portal.services import DomainError
from portal.services.accounts import (
    authenticate_user,
    check_throttle,
    record_failed_sign_in,
    record_sign_in,
)
from portal.services.audit import record_event
from portal.services.onboarding.totp import check_totp

from .htmx import see_other

bp = Blueprint("auth", __name__)
AWAITING_CODE = "awaiting_code"  # session key: who gave the right password, and when
CODE_WINDOW_SECONDS = 300  # the code must follow the password within this


@login_manager.user_loader
def load_user(session_user: str) -> User | None:
    """The person whose session this is, unless their sessions were ended since it began."""
    user_id, _, epoch = session_user.partition(":")
    if not (user_id.isdigit() and epoch.isdigit()) or len(user_id) > 10:
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and str(user.session_epoch) == epoch else None


@bp.before_app_request
def _end_old_sessions() -> Response | None:
    """A session lasts at most SESSION_ABSOLUTE_HOURS from sign-in, however busy (ASVS 3.3.2)."""
    started = session.get("signed_in_at")
    if not current_user.is_authenticated or started is None:
        return None
    limit = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    if time.time() - float(started) <= limit:
        return None
    logout_user()
    forget_session()
    flash("Your session has ended; please sign in again.", "info")
    return see_other(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so ?next= cannot send people to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        address = _address()
        try:
            user = authenticate_user(form.email.data or "", form.password.data or "", address)
        except DomainError as error:  # the failed attempt is kept in its own transaction
            flash(str(error), "error")
            return render_template("auth/login.html", form=form), 401
        if user.uses_totp:  # the password was right; the code comes next
            session[AWAITING_CODE] = {"user": user.get_id(), "at": time.time()}
            return redirect(url_for("auth.code", next=request.args.get("next")), code=303)
        return _signed_in(user, address)
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> str | Response | tuple[str, int]:
    """The second step: the 6-digit code from the person's authenticator app."""
    user = _awaiting_code()
    if user is None:
        flash("Sign in with your email and password first.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        address = _address()
        try:
            check_throttle(user.email, address)  # codes are guessed like passwords
        except DomainError as error:
            flash(str(error), "error")
            return render_template("auth/code.html", form=form), 429
        if not check_totp(user, form.code.data or ""):
            record_failed_sign_in(user.email, address)
            flash("That code does not match. Use the newest one your app shows.", "error")
            return render_template("auth/code.html", form=form), 401
        return _signed_in(user, address)
    return render_template("auth/code.html", form=form)


def _awaiting_code() -> User | None:
    pending = session.get(AWAITING_CODE)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > CODE_WINDOW_SECONDS:
        session.pop(AWAITING_CODE, None)
        return None
    user = load_user(str(pending.get("user", "")))
    return user if user is not None and user.active and user.uses_totp else None


def _address() -> str:
    return request.remote_addr or "unknown"


def _signed_in(user: User, address: str) -> Response:
    sign_in(user, address)
    return redirect(_safe_next(request.args.get("next")), code=303)


def sign_in(user: User, address: str) -> None:
    """Every step done: record it and give the person a new session."""
    record_sign_in(user, address)
    new_session(user)


def new_session(user: User) -> None:
    """A fresh session id at sign-in (no fixation), marked with when it began."""
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is not None:
        regenerate(session)  # a new id; the old one is deleted from Redis
    csrf = session.get("csrf_token")  # the form's token stays good: the id is what must change
    session.clear()
    if csrf:
        session["csrf_token"] = csrf
    login_user(user)  # no remember-me cookie: it would outlive the idle and absolute limits
    session["signed_in_at"] = time.time()


def forget_session() -> None:
    """Empty the session, CSRF token included (the next page makes a new one)."""
    session.clear()
    g.pop("csrf_token", None)


@bp.post("/logout")
@login_required
def logout() -> Response:
    record_event("user.sign_out", current_user)
    logout_user()
    forget_session()  # the server-side session is deleted: a copy of its cookie is worth nothing
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
