"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.extensions import db, login_manager
from portal.forms.auth import LoginForm
from portal.models import User
from portal.services import DomainError
from portal.services.accounts import authenticate_user
from portal.services.audit import record_event

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


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
        address = request.remote_addr or "unknown"
        try:
            user = authenticate_user(form.email.data or "", form.password.data or "", address)
        except DomainError as error:  # the failed attempt is kept in its own transaction
            flash(str(error), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user, remember=bool(form.remember.data))
        return redirect(_safe_next(request.args.get("next")), code=303)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    record_event("user.sign_out", current_user)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
