"""Reconciliation jobs: plan (read the export, check vouchers; no writes upstream) and apply."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from portal.clients.cliniko import ClinikoClient
from portal.clients.errors import OutcomeUnknown, UpstreamError
from portal.clients.vaocherapp import VaocherAppClient
from portal.extensions import db
from portal.models import Provider, Voucher
from portal.models.reconciliation import (
    BatchStatus,
    LedgerState,
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
    RowOutcome,
)
from portal.services import DomainError
from portal.services.connections.cliniko import cliniko_client
from portal.services.connections.records import linked_connection
from portal.services.connections.vaocherapp import vaocherapp_client
from portal.services.reconciliation import apply as ap
from portal.services.reconciliation.export_reader import ExportFormat, iter_rows
from portal.services.reconciliation.plan import (
    check_voucher,
    prefetch_vouchers,
    summarise,
    voucher_refs,
)
from portal.services.reconciliation.rows import store_rows

from .context import Deferred, ItemSkipped, RunContext, WorkItem
from .kind import JobKind


def _batch(ctx: RunContext) -> ReconciliationBatch:
    stmt = select(ReconciliationBatch).where(
        ReconciliationBatch.id == int(ctx.params["batch_id"]),
        ReconciliationBatch.clinic_id == ctx.clinic.id,
    )
    batch = db.session.scalar(stmt)
    if batch is None:
        raise DomainError("The reconciliation this run belongs to is gone.")
    return batch


def _read_export(ctx: RunContext, batch: ReconciliationBatch) -> None:
    fmt = ExportFormat(batch.encoding, batch.delimiter, list(batch.headers))

    def progress(rows: int) -> bool:
        ctx.note(f"Reading the export: {rows:,} rows so far", f"row {rows:,}")
        return not ctx.stop_requested()

    stats = store_rows(batch, iter_rows(Path(batch.stored_path), fmt, batch.mapping), progress)
    batch.rows_read, batch.not_voucher_rows = stats.rows, stats.not_voucher
    db.session.commit()
    ctx.note(f"Read {stats.rows:,} rows: {stats.stored:,} voucher or unreadable rows")


def run_plan(ctx: RunContext) -> None:
    batch = _batch(ctx)
    batch.plan_run_id, batch.status = ctx.run_id, BatchStatus.PLANNING
    db.session.commit()
    status, message = BatchStatus.FAILED, "The plan stopped: see its run."
    try:
        if not ctx.is_retry:
            _read_export(ctx, batch)
        if not ctx.stop_requested():
            _check_vouchers(ctx, batch)
        status, message = BatchStatus.PLANNED, ""
    except DomainError as error:
        message = str(error)
        raise
    finally:
        db.session.rollback()
        summarise(batch)
        batch.status, batch.message = status, message
        db.session.commit()


def _check_vouchers(ctx: RunContext, batch: ReconciliationBatch) -> None:
    refs = voucher_refs(batch)
    client = vaocherapp_client(linked_connection(ctx.clinic, Provider.VAOCHERAPP))
    try:
        wanted = {ref.split(":", 1)[1] for ref, _ in refs}
        prefetched = prefetch_vouchers(client, wanted) if not ctx.is_retry else {}
        items = [WorkItem(ref, label) for ref, label in refs]

        def handle(item: WorkItem) -> str:
            return check_voucher(batch, item.ref.split(":", 1)[1], client, prefetched, ctx.run_id)

        ctx.process(items, handle)
    finally:
        client.close()


def run_apply(ctx: RunContext) -> None:
    batch = _batch(ctx)
    vaocher = vaocherapp_client(linked_connection(ctx.clinic, Provider.VAOCHERAPP))
    cliniko = cliniko_client(linked_connection(ctx.clinic, Provider.CLINIKO))
    batch.apply_run_id, batch.status = ctx.run_id, BatchStatus.APPLYING
    db.session.commit()
    # Cliniko's rate limit is the slow part: its billable-item writes go to a thread of their
    # own, so the next vouchers' redeems go on while they wait for their turn.
    cliniko_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"cliniko-{ctx.run_id}")
    try:
        ordered = ap.apply_steps(batch)
        steps = {s.ref: s for s in ordered}
        rows = ap.RowsAhead(ordered)
        items = [WorkItem(ref, step.label) for ref, step in steps.items()]

        def handle(item: WorkItem) -> str | Deferred:
            step = steps[item.ref]
            if step.row_id is None:
                return _sync_item(ctx, batch, step, cliniko, cliniko_thread)
            row = rows.get(step.row_id)
            return _redeem(ctx, row, rows.ledger_entry(row), vaocher)

        with ctx.keep_loaded():  # its rows, ledger entries and (while on one) the voucher
            ctx.process(items, handle)
    finally:
        cliniko_thread.shutdown(wait=True)
        vaocher.close()
        cliniko.close()
        db.session.rollback()
        ap.finish_batch(batch, ctx.run.failed_count, ctx.cancelled)
        db.session.commit()


def _sync_item(
    ctx: RunContext,
    batch: ReconciliationBatch,
    step: ap.Step,
    cliniko: ClinikoClient,
    cliniko_thread: Executor,
) -> Deferred:
    voucher = db.session.get(Voucher, step.voucher_id)
    assert voucher is not None
    if voucher.balance_cents > 0 and not ap.redeemed_in_run(batch, voucher.id):
        raise ItemSkipped("Nothing was redeemed from this voucher: its billable item stays as is.")
    change = ap.item_change_for(voucher)
    if change is None:
        raise ItemSkipped("The billable item is already archived.")

    def finish(item_id: str) -> str:
        return ap.record_item_change(voucher, change, item_id, ctx.run_id, batch.id)

    return Deferred(cliniko_thread.submit(ap.push_item_change, cliniko, change), finish)


def _fail(row: ReconciliationRow, message: str, ctx: RunContext) -> None:
    """Keep the row's outcome even though the run rolls the item back."""
    ap.mark_row(row, RowOutcome.FAILED, message, ctx.run_id)
    db.session.commit()


def _redeem(
    ctx: RunContext,
    row: ReconciliationRow,
    entry: ReconciliationLedger | None,
    vaocher: VaocherAppClient,
) -> str:
    """Redeem one row, unless its ledger `entry` (from an earlier run) says it is done."""
    assert row.voucher is not None
    voucher: Voucher = row.voucher
    if entry is not None and entry.state == LedgerState.DONE:
        ap.mark_row(row, RowOutcome.SKIPPED, "Already redeemed by an earlier run.", ctx.run_id)
        db.session.commit()
        raise ItemSkipped("Already redeemed by an earlier run.")
    if entry is not None:
        decided = _decide_intent(ctx, row, entry, vaocher)
        if decided:
            return decided
    entry = ap.write_intent(row, voucher, ctx.run_id)
    db.session.commit()  # the intent must be durable before VaocherApp hears of the redeem
    try:
        answer = vaocher.redeem_voucher(voucher.code, row.redeem_cents, ap.reason_for(row))
    except OutcomeUnknown:
        return _after_lost_answer(ctx, row, entry, vaocher)
    except UpstreamError as error:  # refused or never sent: nothing was redeemed
        db.session.delete(entry)
        _fail(row, str(error), ctx)
        raise
    # Committed with the row's outcome; if that commit is lost, the intent is decided later.
    return ap.complete_from_answer(entry, row, voucher, answer, ctx.run_id)


def _confirmed(
    ctx: RunContext,
    row: ReconciliationRow,
    entry: ReconciliationLedger,
    vaocher: VaocherAppClient,
    note: str,
    forget: bool,
) -> str | None:
    """Read the balance: the row's message when the redeem happened, else None."""
    voucher = row.voucher
    assert voucher is not None
    remote = vaocher.get_voucher(voucher.code)
    if not ap.redeem_happened(entry, remote):
        if forget:  # settled and not lower: the redeem never happened
            ap.forget_intent(entry, voucher, remote)
        return None
    balance = remote.remain_balance
    message = ap.complete_redeem(entry, row, voucher, balance, ctx.run_id, note=note)
    db.session.commit()
    return message


def _decide_intent(
    ctx: RunContext, row: ReconciliationRow, entry: ReconciliationLedger, vaocher: VaocherAppClient
) -> str:
    """A redeem was started before (the worker died, or the answer was lost): did it happen?"""
    if not ap.intent_settled(entry):
        message = "A redeem of this row was just started; checking again shortly."
        _fail(row, message, ctx)
        raise RuntimeError(message)
    note = " (confirmed from the balance after an interruption)"
    confirmed = _confirmed(ctx, row, entry, vaocher, note, forget=True)
    db.session.commit()  # the intent was forgotten when the redeem did not happen
    return confirmed or ""


def _after_lost_answer(
    ctx: RunContext, row: ReconciliationRow, entry: ReconciliationLedger, vaocher: VaocherAppClient
) -> str:
    """No answer to the redeem: confirm it from the balance, or leave the intent for later."""
    note = " (confirmed from the balance after a lost answer)"
    message = _confirmed(ctx, row, entry, vaocher, note, forget=False)
    if message:
        return message
    # It may still land late, so the intent stays: a retry decides once it has settled.
    message = "VaocherApp did not confirm the redeem; retrying checks the balance first."
    _fail(row, message, ctx)
    raise RuntimeError(message)


PLAN_KIND = JobKind("reconciliation.plan", "Plan reconciliation", run_plan)
APPLY_KIND = JobKind("reconciliation.apply", "Apply reconciliation", run_apply)
