"""VaocherApp webhooks: verify the signature, keep every delivery once, and turn them into vouchers.

The payload shape is not documented; every guess about it is in the ASSUMED_* constants below.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import Clinic, Connection, JobRun, Voucher, WebhookDelivery
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event_in_own_transaction
from portal.services.connections.records import secrets_of
from portal.services.vouchers.records import upsert_voucher
from portal.tenancy import owned

# ---- ASSUMPTIONS (vaocherapp.md §7 [INFERRED]); correct them here only. --------------------------
ASSUMED_EVENT_KEY = "event"
ASSUMED_DATA_KEY = "data"  # the voucher object, shaped like GET /v1/vouchers/{code}
SIGNATURE_HEADER = "signature"  # documented: hex HMAC-SHA256 of the raw body with the secret


INTAKE = "vouchers.intake"  # the job kind that turns stored deliveries into vouchers


class BadSignature(DomainError):
    """The delivery was not signed with this clinic's webhook secret."""


class MalformedDelivery(DomainError):
    """The body is not the JSON voucher event we expect."""


@dataclass(frozen=True)
class ParsedDelivery:
    event: str
    voucher: RemoteVoucher


def verify_signature(conn: Connection, body: bytes, signature: str | None) -> None:
    """Constant-time check of the hex HMAC-SHA256 of the raw body."""
    secret = secrets_of(conn).get("webhook_secret", "")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Compared as bytes: a header with non-ASCII characters is simply wrong, never an error.
    given = (signature or "").strip().lower().encode("utf-8", "replace")
    if not given or not hmac.compare_digest(expected, given):
        raise BadSignature("The webhook signature does not match this clinic's secret.")


def record_bad_signature(conn: Connection, *, has_signature: bool) -> None:
    """Audit a refused delivery in its own transaction: the request that brought it fails."""
    record_event_in_own_transaction(
        "webhook.bad_signature",
        None,
        clinic=conn.clinic,
        target="vaocherapp",
        detail={"has_signature": has_signature},
    )


def parse_delivery(body: bytes) -> ParsedDelivery:
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDelivery("The body is not JSON.") from exc
    data = payload.get(ASSUMED_DATA_KEY) if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not str(data.get("code") or "").strip():
        raise MalformedDelivery("The body has no voucher with a code.")
    try:
        voucher = RemoteVoucher.from_json(data)
    except (TypeError, ValueError) as exc:
        raise MalformedDelivery(f"The voucher in the body is not readable: {exc}") from exc
    return ParsedDelivery(str(payload.get(ASSUMED_EVENT_KEY) or ""), voucher)


def record_delivery(clinic: Clinic, body: bytes) -> tuple[WebhookDelivery, bool]:
    """Keep the delivery; a re-delivery of the same body is recognised by its digest."""
    parsed = parse_delivery(body)
    digest = hashlib.sha256(body).hexdigest()
    existing = db.session.scalar(
        owned(WebhookDelivery, clinic).where(WebhookDelivery.digest == digest)
    )
    if existing is not None:
        return existing, False
    delivery = WebhookDelivery(
        clinic_id=clinic.id,
        digest=digest,
        event=parsed.event[:64],
        voucher_code=parsed.voucher.code.strip()[:64],
        body=body.decode(),
    )
    db.session.add(delivery)
    try:
        db.session.flush()
    except IntegrityError:  # the same delivery arrived twice at once
        db.session.rollback()
        again = db.session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.clinic_id == clinic.id, WebhookDelivery.digest == digest
            )
        )
        assert again is not None
        return again, False
    return delivery, True


def pending_deliveries(clinic: Clinic) -> list[WebhookDelivery]:
    stmt = owned(WebhookDelivery, clinic).where(WebhookDelivery.status == "received")
    return list(db.session.scalars(stmt.order_by(WebhookDelivery.id)))


def clinics_with_stranded_deliveries(received_before: datetime) -> list[int]:
    """Clinics with deliveries waiting since before `received_before` that no intake run has
    started on since they came in: their run could not be queued (e.g. Redis was down). A
    delivery an intake run has tried and failed is left to that run's retries."""
    tried = (
        select(JobRun.id)
        .where(
            JobRun.clinic_id == WebhookDelivery.clinic_id,
            JobRun.kind == INTAKE,
            JobRun.started_at >= WebhookDelivery.received_at,
        )
        .exists()
    )
    stmt = select(WebhookDelivery.clinic_id).where(
        WebhookDelivery.status == "received",
        WebhookDelivery.received_at < received_before,
        ~tried,
    )
    return list(db.session.scalars(stmt.distinct()))


def deliveries_arrived_since(clinic_id: int, since: datetime) -> bool:
    """Deliveries still waiting that came in after `since` (a run's start)."""
    stmt = select(WebhookDelivery.id).where(
        WebhookDelivery.clinic_id == clinic_id,
        WebhookDelivery.status == "received",
        WebhookDelivery.received_at >= since,
    )
    return db.session.scalar(stmt.limit(1)) is not None


def process_delivery(clinic: Clinic, delivery: WebhookDelivery, run_id: int) -> Voucher:
    """Apply one delivery to the clinic's voucher records."""
    parsed = parse_delivery(delivery.body.encode())
    voucher, _created = upsert_voucher(clinic, parsed.voucher, run_id=run_id)
    delivery.status, delivery.processed_at = "processed", utcnow()
    return voucher
