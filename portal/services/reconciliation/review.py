"""Reviewing a plan before it is applied: is it still true, re-planning it, and people's decisions
on the rows the plan could not decide (ambiguous rows)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import User, Voucher
from portal.models.reconciliation import (
    ACTIONABLE,
    BatchStatus,
    ReconciliationBatch,
    ReconciliationRow,
    RowClass,
)
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.formats import money_text
from portal.services.reconciliation.plan import reallocate_voucher, summarise
from portal.services.reconciliation.redeem import entry_for, ledger_entries
from portal.services.reconciliation.rows import DUPLICATE_ROW

DECISIONS = {"redeem": "Redeem this row", "ignore": "Ignore this row"}


def _actionable(batch: ReconciliationBatch) -> list[ReconciliationRow]:
    stmt = select(ReconciliationRow).where(
        ReconciliationRow.batch_id == batch.id,
        ReconciliationRow.classification.in_(ACTIONABLE),
        ReconciliationRow.excluded.is_(False),
    )
    return list(db.session.scalars(stmt))


def _money(cents: int) -> str:
    return money_text(cents)


def out_of_date_reason(batch: ReconciliationBatch) -> str:
    """Why this plan no longer tells the truth (another plan applied its rows, or a voucher's
    balance moved since it was read), or "" while it still does. Reads only the database."""
    rows = _actionable(batch)
    entries = ledger_entries(batch.clinic_id, rows)
    taken = [row for row in rows if (e := entry_for(row, entries)) and e.batch_id != batch.id]
    if taken:
        first = min(taken, key=lambda row: row.row_number)  # the rows come in no fixed order
        return (
            f"{len(taken)} of its rows were redeemed by a newer reconciliation "
            f"(#{entry_for(first, entries).batch_id})."  # type: ignore[union-attr]
        )
    planned = (
        select(Voucher.code, Voucher.balance_cents, func.max(ReconciliationRow.plan_balance_cents))
        .join(ReconciliationRow, ReconciliationRow.voucher_id == Voucher.id)
        .where(ReconciliationRow.id.in_([row.id for row in rows]))
        .group_by(Voucher.id, Voucher.code, Voucher.balance_cents)
        .order_by(Voucher.code, Voucher.id)  # the same voucher named on every database
    )
    for code, now, then in db.session.execute(planned):
        if then is not None and now != then:
            return f"voucher {code}'s balance changed from {_money(then)} to {_money(now)}."
    return ""


def planned_balances(batch: ReconciliationBatch) -> dict[str, int]:
    """Code → the balance the plan read, for every voucher the plan will redeem from."""
    stmt = (
        select(Voucher.code, func.max(ReconciliationRow.plan_balance_cents))
        .join(ReconciliationRow, ReconciliationRow.voucher_id == Voucher.id)
        .where(
            ReconciliationRow.batch_id == batch.id,
            ReconciliationRow.classification.in_(ACTIONABLE),
            ReconciliationRow.excluded.is_(False),
        )
        .group_by(Voucher.id, Voucher.code)
    )
    return {code.upper(): int(b) for code, b in db.session.execute(stmt) if b is not None}


def moved_balance(batch: ReconciliationBatch, remote: RemoteVoucher, planned: int) -> str:
    """The apply's own check, against VaocherApp just before redeeming."""
    if remote.remain_balance == planned:
        return ""
    return (
        f"voucher {remote.code}'s balance in VaocherApp is {_money(remote.remain_balance)}, "
        f"not the {_money(planned)} this plan was made from."
    )


def mark_out_of_date(batch: ReconciliationBatch, reason: str) -> None:
    batch.status = BatchStatus.OUT_OF_DATE
    batch.message = f"Out of date — re-plan: {reason} Nothing was redeemed."
    db.session.flush()


def replan_batch(batch: ReconciliationBatch, actor: User) -> None:
    """Throw the plan away and plan the same file with the same columns again."""
    if batch.status not in (BatchStatus.PLANNED, BatchStatus.OUT_OF_DATE, BatchStatus.FAILED):
        raise DomainError("Only a plan that has not been applied can be made again.")
    if batch.status == BatchStatus.PLANNED and batch.apply_run_id is not None:
        raise DomainError("This plan has been applied; upload a new export instead.")
    db.session.execute(delete(ReconciliationRow).where(ReconciliationRow.batch_id == batch.id))
    batch.status, batch.message, batch.totals = BatchStatus.PLANNING, "", {}
    batch.apply_run_id = batch.approved_by_id = batch.approved_at = None
    record_event("reconciliation.replan", actor, clinic=batch.clinic, target=f"batch:{batch.id}")
    db.session.flush()


def decide_row(
    batch: ReconciliationBatch, row: ReconciliationRow, actor: User, decision: str, note: str
) -> None:
    """A person settles an ambiguous row: redeem it after all, or ignore it; who and why kept."""
    if not batch.can_edit_plan:
        raise DomainError("This plan can no longer be changed.")
    if row.classification != RowClass.AMBIGUOUS or decision not in DECISIONS:
        raise DomainError("Only an ambiguous row can be decided, by redeeming or ignoring it.")
    if not note.strip():
        raise DomainError("Say why, so the next person understands the decision.")
    if decision == "redeem":
        _redeem_after_all(batch, row)
    else:
        row.excluded = True
    row.decided_by_id, row.decision_note = actor.id, note.strip()[:1000]
    detail = {"row": row.row_number, "decision": decision, "note": row.decision_note}
    record_event(
        "reconciliation.decide_row",
        actor,
        clinic=batch.clinic,
        target=f"batch:{batch.id}",
        detail=detail,
    )
    summarise(batch)


def _redeem_after_all(batch: ReconciliationBatch, row: ReconciliationRow) -> None:
    if row.voucher_id is None:
        raise DomainError(
            "This row's voucher is unclear (its code and billable item disagree): fix the "
            "invoice in Cliniko and upload a new export."
        )
    if row.alt_ref and row.reason in (DUPLICATE_ROW, "this row appears twice"):
        row.ref, row.alt_ref = (
            row.alt_ref,
            "",
        )  # its id is shared: the invoice-number key is its own
    voucher = db.session.get(Voucher, row.voucher_id)
    if row.plan_balance_cents is None and voucher is not None:
        row.plan_balance_cents = voucher.balance_cents
    row.classification, row.excluded = RowClass.PENDING, False
    db.session.flush()
    reallocate_voucher(batch, row.voucher_id)
