"""A clinic's home page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.forms.jobs import ConfirmForm, DemoJobForm
from portal.models import JobRun
from portal.services.problems.state import set_expiry_window
from portal.services.vouchers.figures import voucher_figures
from portal.tenancy import Capability, current_clinic, owned, require, scope_to_clinic

from .htmx import done

bp = scope_to_clinic(Blueprint("clinics", __name__))


@bp.get("/")
def home() -> str:
    require(Capability.VIEW)
    clinic = current_clinic()
    recent = db.session.scalars(owned(JobRun, clinic).order_by(JobRun.id.desc()).limit(5))
    return render_template(
        "clinics/home.html",
        recent_runs=list(recent),
        demo_form=DemoJobForm(),
        figures=voucher_figures(clinic),
        confirm_form=ConfirmForm(),
    )


@bp.post("/expiry-window")
def expiry_window() -> Response:
    require(Capability.MANAGE_CONNECTIONS)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    days = request.form.get("days", type=int) or 0
    set_expiry_window(current_clinic(), current_user, days)  # a DomainError is flashed back
    return done(f"Vouchers expiring within {days} days are now flagged.", url_for("clinics.home"))
