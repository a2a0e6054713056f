"""A person's own account: who they are, where they have access, and signing out everywhere."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from portal.forms.jobs import ConfirmForm
from portal.services.users import end_sessions_of

from .auth import forget_session
from .htmx import done

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
@login_required
def index() -> str:
    return render_template("account/index.html", form=ConfirmForm())


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
