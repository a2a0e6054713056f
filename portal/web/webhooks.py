"""VaocherApp's webhook endpoint: signed, recorded, answered at once, processed by a job."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from portal.extensions import csrf, db
from portal.jobs.start import start_follow_up
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.connections.vaocherapp import connection_for_webhook
from portal.services.vouchers.webhook_intake import (
    INTAKE,
    SIGNATURE_HEADER,
    BadSignature,
    MalformedDelivery,
    record_delivery,
    verify_signature,
)

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
        record_event(
            "webhook.bad_signature",
            None,
            clinic=conn.clinic,
            target="vaocherapp",
            detail={"has_signature": SIGNATURE_HEADER in request.headers},
        )
        db.session.commit()
        return {"error": str(error)}, 401
    try:
        delivery, is_new = record_delivery(conn.clinic, body)
    except MalformedDelivery as error:
        return {"error": str(error)}, 400
    db.session.commit()
    if delivery.status == "received":  # new, or re-sent while still waiting: (re)start intake
        try:
            start_follow_up(conn.clinic, INTAKE)  # a live run picks it up otherwise
        except DomainError:  # the queue is down: the delivery is stored, the tick starts it
            log.warning("webhook delivery %s stored; the job queue is unreachable", delivery.id)
    return {"status": "accepted" if is_new else "duplicate", "delivery": str(delivery.id)}, 202
