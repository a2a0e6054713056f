"""The clinic's voucher records: kept current from VaocherApp, with a timeline of each voucher."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from portal.clients import OutcomeUnknown, UpstreamError
from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import (
    Clinic,
    Provider,
    User,
    Voucher,
    VoucherEvent,
    VoucherEventKind,
)
from portal.services import DomainError, UpstreamFailed
from portal.services.audit import record_event
from portal.services.connections.records import linked_connection
from portal.services.connections.vaocherapp import vaocherapp_client
from portal.services.formats import money_text
from portal.tenancy import owned


def voucher_by_code(clinic: Clinic, code: str) -> Voucher | None:
    """Codes are matched without stray spaces and case, as staff type them into Cliniko."""
    clean = code.strip()
    exact = db.session.scalar(owned(Voucher, clinic).where(Voucher.code == clean))
    if exact is not None:  # the usual case, served by the (clinic, code) unique index
        return exact
    return db.session.scalar(
        owned(Voucher, clinic).where(func.upper(Voucher.code) == clean.upper())
    )


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
            message=f"VaocherApp: {voucher.status}, balance {money_text(voucher.balance_cents)}",
        )
    db.session.flush()
    return voucher, created


def remote_vouchers(clinic: Clinic) -> tuple[list[RemoteVoucher], bool]:
    """Every voucher VaocherApp holds for the clinic, and whether the link is in test mode."""
    conn = linked_connection(clinic, Provider.VAOCHERAPP)
    client = vaocherapp_client(conn)
    try:
        return list(client.iter_vouchers()), bool(conn.detail("test_mode"))
    finally:
        client.close()


def refresh_voucher(clinic: Clinic, voucher: Voucher) -> bool:
    """Re-read one voucher from VaocherApp; True when something changed."""
    client = vaocherapp_client(linked_connection(clinic, Provider.VAOCHERAPP))
    try:
        remote = client.get_voucher(voucher.code)
    except UpstreamError as error:
        raise UpstreamFailed(str(error)) from error
    finally:
        client.close()
    changed = apply_remote_state(voucher, remote)
    if changed:
        record_voucher_event(
            voucher,
            VoucherEventKind.UPDATED,
            message=f"Refreshed: {voucher.status}, balance {money_text(voucher.balance_cents)}",
        )
    db.session.flush()
    return changed


def mark_redeemed(clinic: Clinic, actor: User, voucher: Voucher, expected_cents: int) -> int:
    """Redeem the whole remaining balance in VaocherApp, once; returns the amount redeemed.

    `expected_cents` is the amount the person confirmed; if VaocherApp's balance differs now,
    nothing is redeemed and they are asked again. A redeem whose answer was lost is settled by
    re-reading the balance, never by sending it again.
    """
    client = vaocherapp_client(linked_connection(clinic, Provider.VAOCHERAPP))
    try:
        remote = client.get_voucher(voucher.code)
        if remote.remain_balance <= 0:
            apply_remote_state(voucher, remote)
            raise DomainError("VaocherApp shows this voucher as fully redeemed already.")
        if remote.remain_balance != expected_cents:
            apply_remote_state(voucher, remote)
            raise DomainError(
                f"The balance in VaocherApp is now {money_text(remote.remain_balance)}; "
                "nothing was redeemed. Check the amount and confirm again."
            )
        reason = f"Marked redeemed in Clinic Portal by {actor.name}"
        try:
            client.redeem_voucher(voucher.code, expected_cents, reason)
        except OutcomeUnknown as unknown:
            after = client.get_voucher(voucher.code)
            if after.remain_balance != remote.remain_balance - expected_cents:
                raise DomainError(
                    "VaocherApp did not confirm the redeem and the balance "
                    "is unchanged; nothing was redeemed. Try again."
                ) from unknown
        final = client.get_voucher(voucher.code)
    except UpstreamError as error:  # refused or unreachable: nothing was redeemed
        raise UpstreamFailed(str(error)) from error
    finally:
        client.close()
    apply_remote_state(voucher, final)
    record_voucher_event(
        voucher,
        VoucherEventKind.REDEEMED,
        message=f"{money_text(expected_cents)} redeemed in VaocherApp by {actor.name}",
        detail={"amount_cents": expected_cents, "by": actor.email},
    )
    record_event(
        "voucher.mark_redeemed",
        actor,
        clinic=clinic,
        target=voucher.code,
        detail={"amount_cents": expected_cents},
    )
    db.session.flush()
    return expected_cents
