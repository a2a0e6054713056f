"""Reconciliation jobs: plan (read the export, check vouchers; no writes upstream) and apply.

The apply walks the plan's steps; each row's crash-safe redeem and each billable item's change
are services (`services/reconciliation/redeem.py`, `apply.py`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import ItemOutcome, Provider
from portal.models.reconciliation import BatchStatus, ReconciliationBatch
from portal.services import DomainError
from portal.services.connections.records import linked_connection
from portal.services.connections.vaocherapp import vaocherapp_client
from portal.services.reconciliation import apply as ap
from portal.services.reconciliation.export_reader import ExportFormat, iter_rows
from portal.services.reconciliation.plan import (
    check_voucher,
    check_vouchers,
    prefetch_vouchers,
    summarise,
    voucher_refs,
)
from portal.services.reconciliation.redeem import NothingToDo
from portal.services.reconciliation.review import mark_out_of_date
from portal.services.reconciliation.rows import store_rows

from .context import Deferred, ItemSkipped, RunContext, WorkItem
from .kind import JobKind

CHECK_CHUNK = 500  # vouchers planned per query (and per commit)
FAILED = ItemOutcome.FAILED


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

        def one(item: WorkItem) -> str:
            return check_voucher(batch, _code(item), client, prefetched, ctx.run_id)

        def chunk(items: list[WorkItem]) -> list[tuple[ItemOutcome, str]]:
            codes = [_code(item) for item in items]
            checked = check_vouchers(batch, codes, client, prefetched, ctx.run_id)
            return [(FAILED if c.failed else ItemOutcome.OK, c.message) for c in checked]

        ctx.process_chunks(items, chunk, CHECK_CHUNK, one)
    finally:
        client.close()


def _code(item: WorkItem) -> str:
    return item.ref.split(":", 1)[1]


def run_apply(ctx: RunContext) -> None:
    batch = _batch(ctx)
    upstreams = ap.Upstreams(ctx.clinic, ctx.run_id, commit=db.session.commit)
    batch.apply_run_id, batch.status = ctx.run_id, BatchStatus.APPLYING
    db.session.commit()
    # Cliniko's rate limit is the slow part: its billable-item writes go to a thread of their
    # own, so the next vouchers' redeems go on while they wait for their turn.
    cliniko_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"cliniko-{ctx.run_id}")
    try:
        if not ctx.is_retry:
            _recheck(ctx, batch, upstreams)
        ordered = ap.apply_steps(batch)
        steps = {s.ref: s for s in ordered}
        rows = ap.RowsAhead(ordered)
        items = [WorkItem(ref, step.label) for ref, step in steps.items()]

        def handle(item: WorkItem) -> str | Deferred:
            step = steps[item.ref]
            try:
                if step.row_id is None:
                    assert step.voucher_id is not None
                    call, finish = upstreams.item_change(batch, step.voucher_id)
                    return Deferred(cliniko_thread.submit(call), finish)
                row = rows.get(step.row_id)
                return upstreams.redeem(row, rows.ledger_entry(row))
            except NothingToDo as reason:
                raise ItemSkipped(str(reason)) from None

        with ctx.keep_loaded():  # its rows, ledger entries and (while on one) the voucher
            ctx.process(items, handle)
    finally:
        cliniko_thread.shutdown(wait=True)
        upstreams.close()
        db.session.rollback()
        ap.finish_batch(batch, ctx.run.failed_count, ctx.cancelled)
        db.session.commit()


def _recheck(ctx: RunContext, batch: ReconciliationBatch, upstreams: ap.Upstreams) -> None:
    """Approval re-checks balances first: a plan whose vouchers moved is out of date, not
    half-applied with failures no retry could fix."""
    ctx.note("Checking the vouchers' balances in VaocherApp before redeeming…")
    reason = upstreams.recheck_balances(batch)
    if reason:
        mark_out_of_date(batch, reason)
        db.session.commit()
        raise DomainError(f"The plan is out of date — re-plan it: {reason} Nothing was redeemed.")


PLAN_KIND = JobKind("reconciliation.plan", "Plan reconciliation", run_plan, interactive=True)
APPLY_KIND = JobKind("reconciliation.apply", "Apply reconciliation", run_apply, interactive=True)
