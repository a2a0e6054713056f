"""Applying an approved plan: the ledger around each redeem, and Cliniko's billable item after.

Crash safety: an INTENT ledger entry (with the balance we expect before the redeem) is committed
before the redeem call and completed after it. An intent found later is decided from the
voucher's balance in VaocherApp: lower by at least the amount → the redeem happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.clients.cliniko import ClinikoClient
from portal.clients.vaocherapp import Redemption
from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import Voucher, VoucherEventKind
from portal.models.reconciliation import (
    ACTIONABLE,
    BatchStatus,
    LedgerState,
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
    RowOutcome,
)
from portal.models.types import utcnow
from portal.services.vouchers.records import apply_remote_state, record_voucher_event

ITEM_PREFIX = "billable-item:"


@dataclass(frozen=True)
class Step:
    """One thing the apply does: redeem a row, or bring a voucher's billable item in line."""

    ref: str
    label: str
    row_id: int | None = None
    voucher_id: int | None = None


def apply_steps(batch: ReconciliationBatch) -> list[Step]:
    """Each voucher's rows in order of use, then a step for its billable item."""
    stmt = (
        select(ReconciliationRow)
        .where(ReconciliationRow.batch_id == batch.id, ReconciliationRow.voucher_id.is_not(None))
        .order_by(ReconciliationRow.voucher_id, ReconciliationRow.seq)
    )
    steps: list[Step] = []
    current: tuple[int, str] | None = None
    for row in db.session.scalars(stmt):
        vid = row.voucher_id
        assert vid is not None
        if current and current[0] != vid:
            steps.append(_item_step(*current))
            current = None
        if row.classification in ACTIONABLE and not row.excluded:
            label = f"Row {row.row_number}: invoice {row.invoice_number}, {row.code}"
            steps.append(Step(row.ref, label, row_id=row.id, voucher_id=vid))
            current = (vid, row.code)
        elif row.plan_balance_cents == 0 and current is None:
            current = (vid, row.code)  # used up before this run: its item may still be live
    if current:
        steps.append(_item_step(*current))
    return steps


class RowsAhead:
    """The rows an apply is about to work on, loaded a chunk at a time with their vouchers and
    ledger entries (three queries per chunk instead of three per row)."""

    def __init__(self, steps: list[Step], chunk: int = 250) -> None:
        self._order = [step.row_id for step in steps if step.row_id is not None]
        self._position = {row_id: n for n, row_id in enumerate(self._order)}
        self._chunk = chunk
        self._rows: dict[int, ReconciliationRow] = {}
        self._entries: dict[str, ReconciliationLedger] = {}

    def get(self, row_id: int) -> ReconciliationRow:
        if row_id not in self._rows:
            start = self._position[row_id]
            self._load(self._order[start : start + self._chunk])
        return self._rows[row_id]

    def ledger_entry(self, row: ReconciliationRow) -> ReconciliationLedger | None:
        return self._entries.get(row.ref)

    def _load(self, row_ids: list[int]) -> None:
        stmt = (
            select(ReconciliationRow)
            .where(ReconciliationRow.id.in_(row_ids))
            .options(joinedload(ReconciliationRow.voucher))
        )
        self._rows = {row.id: row for row in db.session.scalars(stmt).unique()}
        if not self._rows:
            self._entries = {}
            return
        clinic_id = next(iter(self._rows.values())).clinic_id
        entries = select(ReconciliationLedger).where(
            ReconciliationLedger.clinic_id == clinic_id,
            ReconciliationLedger.key.in_([row.ref for row in self._rows.values()]),
        )
        self._entries = {entry.key: entry for entry in db.session.scalars(entries)}


def _item_step(voucher_id: int, code: str) -> Step:
    return Step(f"{ITEM_PREFIX}{code}", f"Billable item of {code}", voucher_id=voucher_id)


def reason_for(row: ReconciliationRow) -> str:
    """The redeem reason staff see in VaocherApp: which Cliniko invoice and row."""
    item = f", item {row.invoice_item_id}" if row.invoice_item_id else ""
    return f"Cliniko invoice #{row.invoice_number}{item} (export row {row.row_number})"


def write_intent(row: ReconciliationRow, voucher: Voucher, run_id: int) -> ReconciliationLedger:
    """Record what we are about to redeem and the balance we expect before it."""
    entry = ReconciliationLedger(
        clinic_id=row.clinic_id,
        key=row.ref,
        voucher_id=voucher.id,
        amount_cents=row.redeem_cents,
        balance_before_cents=voucher.balance_cents,
        state=LedgerState.INTENT,
        batch_id=row.batch_id,
        row_id=row.id,
        run_id=run_id,
    )
    db.session.add(entry)
    return entry


def intent_settled(entry: ReconciliationLedger) -> bool:
    """An answer may still arrive late for a young intent; decide only once it has settled."""
    settle = timedelta(seconds=current_app.config["RECONCILIATION_SETTLE_SECONDS"])
    return utcnow() - entry.created_at >= settle


def redeem_happened(entry: ReconciliationLedger, remote: RemoteVoucher) -> bool:
    return remote.remain_balance <= entry.balance_before_cents - entry.amount_cents


def complete_redeem(
    entry: ReconciliationLedger,
    row: ReconciliationRow,
    voucher: Voucher,
    balance_after: int,
    run_id: int,
    *,
    transaction_id: str = "",
    note: str = "",
) -> str:
    """Mark the ledger done and tell the voucher's timeline; returns the row's message."""
    entry.state, entry.completed_at = LedgerState.DONE, utcnow()
    entry.balance_after_cents, entry.transaction_id = balance_after, transaction_id[:64]
    entry.run_id = run_id
    voucher.balance_cents = balance_after
    voucher.cliniko_used_cents += entry.amount_cents
    detail = {"batch_id": row.batch_id, "row_id": row.id, "run_id": run_id, "ledger_key": row.ref}
    record_voucher_event(
        voucher,
        VoucherEventKind.USED_ON_INVOICE,
        run_id=run_id,
        message=f"Used on Cliniko invoice #{row.invoice_number}",
        detail=detail,
    )
    message = f"Redeemed {entry.amount_cents / 100:.2f}; {balance_after / 100:.2f} left{note}"
    record_voucher_event(
        voucher,
        VoucherEventKind.REDEEMED,
        run_id=run_id,
        message=message,
        detail=detail | {"amount_cents": entry.amount_cents},
    )
    mark_row(row, RowOutcome.REDEEMED, message, run_id)
    return message


def complete_from_answer(
    entry: ReconciliationLedger,
    row: ReconciliationRow,
    voucher: Voucher,
    answer: Redemption,
    run_id: int,
) -> str:
    after = answer.remain_balance
    if after is None:  # the answer's shape is undocumented: work it out
        after = entry.balance_before_cents - entry.amount_cents
    return complete_redeem(
        entry, row, voucher, after, run_id, transaction_id=answer.transaction_id or ""
    )


def forget_intent(entry: ReconciliationLedger, voucher: Voucher, remote: RemoteVoucher) -> None:
    """The redeem did not happen: drop the intent and start again from VaocherApp's balance."""
    apply_remote_state(voucher, remote)
    db.session.delete(entry)
    db.session.flush()


def mark_row(row: ReconciliationRow, outcome: RowOutcome, message: str, run_id: int) -> None:
    row.outcome, row.outcome_message, row.apply_run_id = outcome, message[:2000], run_id


def _price_for(balance_cents: int) -> Decimal:
    return -(Decimal(balance_cents) / 100)


@dataclass(frozen=True)
class ItemChange:
    """What Cliniko's billable item needs: archived (used up), or priced at minus the balance."""

    code: str
    item_id: str | None
    archive: bool
    price: Decimal


def item_change_for(voucher: Voucher) -> ItemChange | None:
    """Used up → archive the item so the code cannot be used again; else price = -balance.
    None when the item is already archived."""
    if voucher.balance_cents <= 0 and voucher.billable_item_archived_at is not None:
        return None
    return ItemChange(
        code=voucher.code,
        item_id=voucher.cliniko_billable_item_id or None,
        archive=voucher.balance_cents <= 0,
        price=_price_for(max(voucher.balance_cents, 0)),
    )


def push_item_change(cliniko: ClinikoClient, change: ItemChange) -> str:
    """The Cliniko side only (no database, so it can run on another thread); returns the item id."""
    item_id = change.item_id
    if not item_id:
        found = cliniko.find_billable_item_by_code(change.code)
        if found is None:
            raise LookupError(f"Cliniko has no billable item with the code {change.code}.")
        item_id = found.id
    if change.archive:
        cliniko.archive_billable_item(item_id)
    else:
        cliniko.update_billable_item(item_id, price=change.price)
    return item_id


def record_item_change(
    voucher: Voucher, change: ItemChange, item_id: str, run_id: int, batch_id: int
) -> str:
    """Tell the voucher and its timeline what was done to the billable item."""
    voucher.cliniko_billable_item_id = item_id
    detail: dict[str, Any] = {"batch_id": batch_id, "run_id": run_id, "item_id": item_id}
    if change.archive:
        voucher.billable_item_archived_at = utcnow()
        message = "Voucher used up: billable item archived in Cliniko"
        record_voucher_event(
            voucher, VoucherEventKind.ARCHIVED, run_id=run_id, message=message, detail=detail
        )
        return message
    message = f"Billable item price set to {change.price:.2f} (the remaining balance)"
    record_voucher_event(
        voucher,
        VoucherEventKind.PRICE_UPDATED,
        run_id=run_id,
        message=message,
        detail=detail | {"price": str(change.price)},
    )
    return message


def redeemed_in_run(batch: ReconciliationBatch, voucher_id: int) -> bool:
    stmt = select(ReconciliationRow.id).where(
        ReconciliationRow.batch_id == batch.id,
        ReconciliationRow.voucher_id == voucher_id,
        ReconciliationRow.outcome == RowOutcome.REDEEMED,
    )
    return db.session.scalar(stmt.limit(1)) is not None


def finish_batch(batch: ReconciliationBatch, failed: int, cancelled: bool) -> None:
    batch.status = BatchStatus.APPLYING if cancelled else BatchStatus.APPLIED
    batch.message = (
        "Cancelled: finish the unfinished rows from the run page."
        if cancelled
        else f"{failed} step(s) failed: retry them from the run page."
        if failed
        else ""
    )
    db.session.flush()
