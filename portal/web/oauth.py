"""The Reckon OAuth callback: one fixed URL for every clinic (the state says which one)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.connections.reckon import complete_authorization, record_foreign_state
from portal.tenancy import Capability, clinic_for

from .connections import OAUTH_SESSION_KEY
from .transaction import failed

bp = Blueprint("oauth", __name__)


@bp.get("/oauth/reckon/callback")
@login_required
def reckon_callback() -> Response:
    pending = session.pop(OAUTH_SESSION_KEY, None)  # single use, whatever happens next
    given = request.args.get("state", "")
    if not pending or not secrets.compare_digest(given, pending.get("state", "")):
        record_foreign_state(current_user)
        abort(400, "This Reckon sign-in did not start here, or was already used. Start again.")
    clinic = clinic_for(current_user, pending["clinic"], Capability.MANAGE_CONNECTIONS)
    back = url_for("connections.index", clinic=clinic.slug)
    if request.args.get("error"):
        record_event("connection.oauth_denied", current_user, clinic=clinic, target="reckon")
        flash(
            "Reckon access was not granted, so nothing changed. Connect again to retry.", "warning"
        )
        return redirect(back)
    redirect_uri = url_for("oauth.reckon_callback", _external=True)
    try:
        complete_authorization(clinic, current_user, request.args.get("code", ""), redirect_uri)
    except DomainError as error:
        return failed(str(error), back)
    return redirect(url_for("connections.reckon_book", clinic=clinic.slug))
