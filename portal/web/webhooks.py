"""VaocherApp's webhook endpoint: signed, recorded, answered at once, processed by a job."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

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


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> tuple[dict[str, str], int]:
    limit = current_app.config["WEBHOOK_MAX_BYTES"] // 1024
    return {"error": f"A webhook body may be at most {limit} KB."}, 413


@bp.post("/hooks/vaocherapp/<token>")
def vaocherapp(token: str) -> tuple[dict[str, str], int]:
    conn = connection_for_webhook(token)
    if conn is None or not conn.sealed_secrets:
        abort(404)
    body = _bounded_body(current_app.config["WEBHOOK_MAX_BYTES"])
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


def _bounded_body(limit: int) -> bytes:
    """The body, read a piece at a time and refused (413) past `limit`: a declared length is
    refused unread, a chunked one as soon as it grows past the limit."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    pieces: list[bytes] = []
    size = 0
    while size <= limit:
        piece = request.stream.read(min(64 * 1024, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
    raise RequestEntityTooLarge()


def _start_intake(clinic: Clinic, delivery_id: int) -> None:
    try:
        start_follow_up(clinic, INTAKE)  # a live run picks it up otherwise
    except DomainError:  # the queue is down: the delivery is stored, the tick starts it
        log.warning("webhook delivery %s stored; the job queue is unreachable", delivery_id)
