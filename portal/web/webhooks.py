"""VaocherApp's webhook endpoint: signed, recorded, answered at once, processed by a job."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from portal.extensions import csrf
from portal.jobs.start import start_follow_up
from portal.models import Clinic
from portal.services import DomainError
from portal.services.connections.vaocherapp import connection_for_webhook
from portal.services.vouchers.webhook_intake import (
    INTAKE,
    SIGNATURE_HEADER,
    BadSignature,
    MalformedDelivery,
    record_bad_signature,
    record_delivery,
    verify_signature,
)

from .transaction import after_commit

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)  # signed by VaocherApp instead; there is no session to forge


@bp.post("/hooks/vaocherapp/<token>")
def vaocherapp(token: str) -> tuple[dict[str, str], int]:
    conn = connection_for_webhook(token)
    if conn is None or not conn.sealed_secrets:
        abort(404)
    body = request.get_data(cache=False)
    try:
        verify_signature(conn, body, request.headers.get(SIGNATURE_HEADER))
    except BadSignature as error:
        record_bad_signature(conn, has_signature=SIGNATURE_HEADER in request.headers)
        return {"error": str(error)}, 401
    try:
        delivery, is_new = record_delivery(conn.clinic, body)
    except MalformedDelivery as error:
        return {"error": str(error)}, 400
    if delivery.status == "received":  # new, or re-sent while still waiting: (re)start intake
        clinic, delivery_id = conn.clinic, delivery.id
        after_commit(lambda: _start_intake(clinic, delivery_id))  # the run must see it stored
    return {"status": "accepted" if is_new else "duplicate", "delivery": str(delivery.id)}, 202


def _start_intake(clinic: Clinic, delivery_id: int) -> None:
    try:
        start_follow_up(clinic, INTAKE)  # a live run picks it up otherwise
    except DomainError:  # the queue is down: the delivery is stored, the tick starts it
        log.warning("webhook delivery %s stored; the job queue is unreachable", delivery_id)
