"""The landing page: straight to your clinic, or a choice of clinics and agencies."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.tenancy import accessible_clinics, administered_agencies

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str | Response:
    clinics = accessible_clinics(current_user)
    agencies = administered_agencies(current_user)
    if len(clinics) == 1 and not agencies:
        return redirect(url_for("clinics.home", clinic=clinics[0].slug))
    return render_template("home/index.html", clinics=clinics, agencies=agencies)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """For load balancers: the database answers (Redis is checked by the worker itself)."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}, 200
