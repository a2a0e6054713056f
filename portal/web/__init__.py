"""Blueprints, one per area, and the request plumbing (htmx.py, transaction.py, errors.py);
`register_blueprints` is called from create_app."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map


class RowId(IntegerConverter):
    """`<int:…>` in every route: an id past the database's 32-bit integers is simply not found
    (a 20-digit id overflowed SQLite and PostgreSQL into a 500)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _refuse_nul() -> None:
    """A NUL character is never part of a real path or query (PostgreSQL refuses it in text, which
    would surface as a 500): such a request is a plain 400."""
    if "\x00" in request.path or any("\x00" in value for value in request.args.values()):
        abort(400, "The address contains a character that is not allowed.")


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowId  # before any rule is added
    app.before_request(_refuse_nul)
    from . import (
        account,
        agency,
        alerts,
        audit,
        auth,
        clinics,
        connections,
        demo_mail,
        errors,
        home,
        inbox,
        invitations,
        jobs,
        oauth,
        passwords,
        patient_button,
        reconciliation,
        transaction,
        vouchers,
        webhooks,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(passwords.bp)
    app.register_blueprint(invitations.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(clinics.bp, url_prefix="/c/<clinic>")
    app.register_blueprint(jobs.bp, url_prefix="/c/<clinic>/jobs")
    app.register_blueprint(connections.bp, url_prefix="/c/<clinic>/connections")
    app.register_blueprint(oauth.bp)
    app.register_blueprint(vouchers.bp, url_prefix="/c/<clinic>/vouchers")
    app.register_blueprint(patient_button.bp, url_prefix="/c/<clinic>/cliniko")
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(reconciliation.bp, url_prefix="/c/<clinic>/reconciliation")
    app.register_blueprint(agency.bp, url_prefix="/a/<agency>")
    app.register_blueprint(audit.bp, url_prefix="/a/<agency>/audit")
    app.register_blueprint(inbox.agency_bp, url_prefix="/a/<agency>/inbox")
    app.register_blueprint(inbox.clinic_bp, url_prefix="/c/<clinic>/inbox")
    app.register_blueprint(alerts.bp, url_prefix="/alerts")
    app.register_blueprint(demo_mail.bp, url_prefix="/demo/sent-emails")
    from .accounting import bp as accounting_bp

    app.register_blueprint(accounting_bp, url_prefix="/c/<clinic>/accounting")
    errors.register(app)
    transaction.register(app)
