"""The clinic's voucher records: kept current from VaocherApp, with a timeline of each voucher."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import Clinic, Voucher, VoucherEvent, VoucherEventKind
from portal.tenancy import owned


def voucher_by_code(clinic: Clinic, code: str) -> Voucher | None:
    """Codes are matched without stray spaces and case, as staff type them into Cliniko."""
    clean = code.strip()
    stmt = owned(Voucher, clinic).where(func.upper(Voucher.code) == clean.upper())
    return db.session.scalar(stmt)


def record_voucher_event(
    voucher: Voucher,
    kind: VoucherEventKind,
    *,
    run_id: int | None = None,
    message: str = "",
    detail: dict[str, Any] | None = None,
) -> VoucherEvent:
    """Add a step to the voucher's timeline (with the job run that did it, if any)."""
    event = VoucherEvent(
        clinic_id=voucher.clinic_id,
        voucher=voucher,
        kind=kind,
        run_id=run_id,
        message=message,
        detail=detail or {},
    )
    db.session.add(event)
    return event


def apply_remote_state(voucher: Voucher, remote: RemoteVoucher) -> bool:
    """Copy what VaocherApp says about the voucher; True when anything changed."""
    before = (voucher.status, voucher.balance_cents, voucher.expires_at)
    voucher.vaocher_id = remote.id or voucher.vaocher_id
    voucher.status = (remote.status or voucher.status).lower()
    voucher.balance_cents = remote.remain_balance
    voucher.expires_at = remote.expiry
    if remote.original_value is not None:
        voucher.value_cents = remote.original_value
    elif not voucher.value_cents:
        voucher.value_cents = remote.remain_balance  # best knowledge until a fuller record arrives
    voucher.purchased_at = voucher.purchased_at or remote.created_at
    voucher.vaocher_updated_at = remote.updated_at
    for field in ("purchaser_name", "purchaser_email", "recipient_name", "recipient_email"):
        value = getattr(remote, field)
        if value:
            setattr(voucher, field, value)
    voucher.order_ref = remote.order_number or voucher.order_ref
    voucher.refresh_search_text()
    return before != (voucher.status, voucher.balance_cents, voucher.expires_at)


def upsert_voucher(
    clinic: Clinic, remote: RemoteVoucher, *, test_mode: bool = False, run_id: int | None = None
) -> tuple[Voucher, bool]:
    """The local record for a VaocherApp voucher, created when new; returns (voucher, created)."""
    voucher = voucher_by_code(clinic, remote.code)
    created = voucher is None
    if voucher is None:
        voucher = Voucher(clinic_id=clinic.id, code=remote.code.strip(), test_mode=test_mode)
        db.session.add(voucher)
    changed = apply_remote_state(voucher, remote)
    if created:
        record_voucher_event(
            voucher,
            VoucherEventKind.PURCHASED,
            run_id=run_id,
            message=f"Bought by {voucher.purchaser_name or 'a customer'}",
            detail={"value_cents": voucher.value_cents},
        )
    elif changed:
        record_voucher_event(
            voucher,
            VoucherEventKind.UPDATED,
            run_id=run_id,
            message=f"VaocherApp: {voucher.status}, balance {voucher.balance_cents / 100:.2f}",
        )
    db.session.flush()
    return voucher, created


def count_vouchers(clinic: Clinic) -> int:
    return (
        db.session.scalar(select(func.count()).select_from(owned(Voucher, clinic).subquery())) or 0
    )
