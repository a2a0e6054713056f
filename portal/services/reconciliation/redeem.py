"""The crash-safe redeem of one export row in VaocherApp: intent → call → completion.

An INTENT ledger entry (with the balance we expect before the redeem) is committed before the
redeem call and completed after it. An intent found later (the worker died, or the answer was
lost) is decided from the voucher's balance in VaocherApp: lower by at least the amount → the
redeem happened. The caller passes `commit`: the protocol needs its intent durable before
VaocherApp hears of the redeem, and a row's failure kept although the caller rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.clients.errors import OutcomeUnknown, UpstreamError
from portal.clients.vaocherapp import Redemption, VaocherAppClient
from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import Voucher, VoucherEventKind
from portal.models.reconciliation import (
    LedgerState,
    ReconciliationLedger,
    ReconciliationRow,
    RowOutcome,
)
from portal.models.types import utcnow
from portal.services.formats import money_text
from portal.services.vouchers.records import apply_remote_state, record_voucher_event


class NothingToDo(Exception):
    """The step has nothing left to do (e.g. an earlier run did it); the message says why."""


class Redeemer:
    """Redeems rows through one VaocherApp client for one run, committing with `commit`."""

    def __init__(self, vaocher: VaocherAppClient, run_id: int, commit: Callable[[], None]) -> None:
        self.vaocher, self.run_id, self._commit = vaocher, run_id, commit

    def redeem(self, row: ReconciliationRow, entry: ReconciliationLedger | None) -> str:
        """Redeem one row, unless its ledger `entry` (from an earlier run) says it is done."""
        assert row.voucher is not None
        voucher: Voucher = row.voucher
        if entry is not None and entry.state == LedgerState.DONE:
            mark_row(row, RowOutcome.SKIPPED, "Already redeemed by an earlier run.", self.run_id)
            self._commit()
            raise NothingToDo("Already redeemed by an earlier run.")
        if entry is not None:
            decided = self._decide_intent(row, entry)
            if decided:
                return decided
        entry = write_intent(row, voucher, self.run_id)
        self._commit()  # the intent must be durable before VaocherApp hears of the redeem
        try:
            answer = self.vaocher.redeem_voucher(voucher.code, row.redeem_cents, reason_for(row))
        except OutcomeUnknown:
            return self._after_lost_answer(row, entry)
        except UpstreamError as error:  # refused or never sent: nothing was redeemed
            db.session.delete(entry)
            self._fail(row, str(error))
            raise
        # Committed with the row's outcome; if that commit is lost, the intent is decided later.
        return complete_from_answer(entry, row, voucher, answer, self.run_id)

    def _fail(self, row: ReconciliationRow, message: str) -> None:
        """Keep the row's outcome even though the caller rolls the item back."""
        mark_row(row, RowOutcome.FAILED, message, self.run_id)
        self._commit()

    def _confirmed(
        self, row: ReconciliationRow, entry: ReconciliationLedger, note: str, forget: bool
    ) -> str | None:
        """Read the balance: the row's message when the redeem happened, else None."""
        voucher = row.voucher
        assert voucher is not None
        remote = self.vaocher.get_voucher(voucher.code)
        if not redeem_happened(entry, remote):
            if forget:  # settled and not lower: the redeem never happened
                forget_intent(entry, voucher, remote)
            return None
        balance = remote.remain_balance
        message = complete_redeem(entry, row, voucher, balance, self.run_id, note=note)
        self._commit()
        return message

    def _decide_intent(self, row: ReconciliationRow, entry: ReconciliationLedger) -> str:
        """A redeem was started before (the worker died, or the answer was lost): did it happen?"""
        if not intent_settled(entry):
            message = "A redeem of this row was just started; checking again shortly."
            self._fail(row, message)
            raise RuntimeError(message)
        note = " (confirmed from the balance after an interruption)"
        confirmed = self._confirmed(row, entry, note, forget=True)
        self._commit()  # the intent was forgotten when the redeem did not happen
        return confirmed or ""

    def _after_lost_answer(self, row: ReconciliationRow, entry: ReconciliationLedger) -> str:
        """No answer to the redeem: confirm it from the balance, or leave the intent for later."""
        note = " (confirmed from the balance after a lost answer)"
        message = self._confirmed(row, entry, note, forget=False)
        if message:
            return message
        # It may still land late, so the intent stays: a retry decides once it has settled.
        message = "VaocherApp did not confirm the redeem; retrying checks the balance first."
        self._fail(row, message)
        raise RuntimeError(message)


def ledger_entries(
    clinic_id: int, rows: Iterable[ReconciliationRow]
) -> dict[str, ReconciliationLedger]:
    """The clinic's ledger entries for these rows, by every key they are known under.

    The one rule for "already done", used by the plan and the apply alike: a row is done when
    the clinic's ledger has a DONE entry under its key or its alternate key (see rows.py)."""
    keys = {key for row in rows for key in (row.ref, row.alt_ref) if key}
    if not keys:
        return {}
    found: dict[str, ReconciliationLedger] = {}
    for column in (ReconciliationLedger.key, ReconciliationLedger.alt_key):
        stmt = select(ReconciliationLedger).where(
            ReconciliationLedger.clinic_id == clinic_id, column.in_(keys)
        )
        for entry in db.session.scalars(stmt):
            found[entry.key] = entry
            if entry.alt_key:
                found.setdefault(entry.alt_key, entry)
    return found


def entry_for(
    row: ReconciliationRow, entries: dict[str, ReconciliationLedger]
) -> ReconciliationLedger | None:
    return entries.get(row.ref) or (entries.get(row.alt_ref) if row.alt_ref else None)


def is_done(row: ReconciliationRow, entries: dict[str, ReconciliationLedger]) -> bool:
    entry = entry_for(row, entries)
    return entry is not None and entry.state == LedgerState.DONE


def reason_for(row: ReconciliationRow) -> str:
    """The redeem reason staff see in VaocherApp: which Cliniko invoice and row."""
    item = f", item {row.invoice_item_id}" if row.invoice_item_id else ""
    return f"Cliniko invoice #{row.invoice_number}{item} (export row {row.row_number})"


def write_intent(row: ReconciliationRow, voucher: Voucher, run_id: int) -> ReconciliationLedger:
    """Record what we are about to redeem and the balance we expect before it."""
    entry = ReconciliationLedger(
        clinic_id=row.clinic_id,
        key=row.ref,
        alt_key=row.alt_ref or None,
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
    message = f"Redeemed {money_text(entry.amount_cents)}; {money_text(balance_after)} left{note}"
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
