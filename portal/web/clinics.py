"""A clinic's home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.extensions import db
from portal.forms.jobs import DemoJobForm
from portal.models import JobRun
from portal.services.vouchers.browser import voucher_figures
from portal.tenancy import Capability, current_clinic, owned, require, scope_to_clinic

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
    )
