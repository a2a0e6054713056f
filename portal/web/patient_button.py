"""Cliniko's custom patient button: from a patient in Cliniko straight to their vouchers."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portal.services.vouchers.browser import vouchers_of_patient
from portal.tenancy import Capability, current_clinic, require, scope_to_clinic

bp = scope_to_clinic(Blueprint("patient_button", __name__))


@bp.get("/patient")
def patient() -> str | Response:
    """GET ?patient_id=N, as Cliniko sends it; sign-in comes first when needed (tenancy does it)."""
    require(Capability.VIEW)
    patient_id = request.args.get("patient_id", "").strip()
    vouchers = vouchers_of_patient(current_clinic(), patient_id) if patient_id else []
    if len(vouchers) == 1:
        return redirect(url_for("vouchers.show", code=vouchers[0].code))
    if vouchers:
        return redirect(url_for("vouchers.index", patient_id=patient_id))
    return render_template("vouchers/no_patient_vouchers.html", patient_id=patient_id)
