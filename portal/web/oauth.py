"""The Reckon OAuth callback: one fixed URL for every clinic (the state says which one)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.models import Clinic
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.connections.reckon import complete_authorization
from portal.tenancy import CAPABILITIES, Capability, role_in_clinic

from .connections import OAUTH_SESSION_KEY

bp = Blueprint("oauth", __name__)


@bp.get("/oauth/reckon/callback")
@login_required
def reckon_callback() -> Response:
    pending = session.pop(OAUTH_SESSION_KEY, None)  # single use, whatever happens next
    given = request.args.get("state", "")
    if not pending or not secrets.compare_digest(given, pending.get("state", "")):
        record_event("connection.oauth_state_mismatch", current_user, target="reckon")
        db.session.commit()
        abort(400, "This Reckon sign-in did not start here, or was already used. Start again.")
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == pending["clinic"]))
    role = role_in_clinic(current_user, clinic) if clinic else None
    if clinic is None or role is None:
        abort(404)
    if Capability.MANAGE_CONNECTIONS not in CAPABILITIES[role]:
        abort(403)
    back = url_for("connections.index", clinic=clinic.slug)
    if request.args.get("error"):
        record_event("connection.oauth_denied", current_user, clinic=clinic, target="reckon")
        db.session.commit()
        flash(
            "Reckon access was not granted, so nothing changed. Connect again to retry.", "warning"
        )
        return redirect(back)
    redirect_uri = url_for("oauth.reckon_callback", _external=True)
    try:
        complete_authorization(clinic, current_user, request.args.get("code", ""), redirect_uri)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back)
    db.session.commit()
    return redirect(url_for("connections.reckon_book", clinic=clinic.slug))
