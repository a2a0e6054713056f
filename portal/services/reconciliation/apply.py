"""Applying an approved plan: the steps in order, each row's redeem (the protocol is in
`redeem.py`), and each voucher's billable item in Cliniko after its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.clients.cliniko import ClinikoClient
from portal.extensions import db
from portal.models import Clinic, Provider, Voucher, VoucherEventKind
from portal.models.reconciliation import (
    ACTIONABLE,
    BatchStatus,
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
    RowOutcome,
)
from portal.models.types import utcnow
from portal.services.connections.cliniko import cliniko_client
from portal.services.connections.records import linked_connection
from portal.services.connections.vaocherapp import vaocherapp_client
from portal.services.formats import dollars_text
from portal.services.problems.sources import note_apply_outcome
from portal.services.reconciliation.plan import prefetch_vouchers
from portal.services.reconciliation.review import moved_balance, planned_balances
from portal.services.vouchers.records import apply_remote_state, record_voucher_event

from .redeem import NothingToDo, Redeemer, entry_for, ledger_entries

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
        return entry_for(row, self._entries)

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
        self._entries = ledger_entries(clinic_id, self._rows.values())


def _item_step(voucher_id: int, code: str) -> Step:
    return Step(f"{ITEM_PREFIX}{code}", f"Billable item of {code}", voucher_id=voucher_id)


class Upstreams:
    """What one apply run calls: VaocherApp for the redeems, Cliniko for the billable items."""

    def __init__(self, clinic: Clinic, run_id: int, commit: Callable[[], None]) -> None:
        vaocher = vaocherapp_client(linked_connection(clinic, Provider.VAOCHERAPP))
        self.cliniko = cliniko_client(linked_connection(clinic, Provider.CLINIKO))
        self.redeemer = Redeemer(vaocher, run_id, commit)
        self.run_id = run_id

    def redeem(self, row: ReconciliationRow, entry: ReconciliationLedger | None) -> str:
        return self.redeemer.redeem(row, entry)

    def item_change(
        self, batch: ReconciliationBatch, voucher_id: int
    ) -> tuple[Callable[[], str], Callable[[str], str]]:
        """The Cliniko call the voucher's billable item needs (no database: any thread may make
        it) and how to record its result; NothingToDo when the item needs nothing."""
        voucher = db.session.get(Voucher, voucher_id)
        assert voucher is not None
        if voucher.balance_cents > 0 and not redeemed_in_run(batch, voucher.id):
            raise NothingToDo(
                "Nothing was redeemed from this voucher: its billable item stays as is."
            )
        change = item_change_for(voucher)
        if change is None:
            raise NothingToDo("The billable item is already archived.")

        def finish(item_id: str) -> str:
            return record_item_change(voucher, change, item_id, self.run_id, batch.id)

        return partial(push_item_change, self.cliniko, change), finish

    def recheck_balances(self, batch: ReconciliationBatch) -> str:
        """Before the first redeem: has any voucher's balance moved since the plan read it?
        The reason (and the fresher balance kept locally), or "" when the plan still holds."""
        planned = planned_balances(batch)
        client = self.redeemer.vaocher
        prefetched = prefetch_vouchers(client, set(planned))
        for code, balance in planned.items():
            remote = prefetched.get(code) or client.get_voucher(code)
            reason = moved_balance(batch, remote, balance)
            if reason:
                local = db.session.scalar(
                    select(Voucher).where(
                        Voucher.clinic_id == batch.clinic_id, func.upper(Voucher.code) == code
                    )
                )
                if local is not None:
                    apply_remote_state(local, remote)
                return reason
        return ""

    def close(self) -> None:
        self.redeemer.vaocher.close()
        self.cliniko.close()


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
    message = (
        f"Billable item re-priced to {dollars_text(change.price)} (minus the remaining balance)"
    )
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
    if batch.status == BatchStatus.OUT_OF_DATE:
        return  # stopped before the first redeem: it says why, and offers a re-plan
    batch.status = BatchStatus.APPLYING if cancelled else BatchStatus.APPLIED
    batch.message = (
        "Cancelled: finish the unfinished rows from the run page."
        if cancelled
        else f"{failed} step(s) failed: retry them from the run page."
        if failed
        else ""
    )
    note_apply_outcome(batch, failed, cancelled)
    db.session.flush()
