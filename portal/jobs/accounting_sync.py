"""The accounting sync job: items, customers, invoices, payments — each phase with live progress.

Each record is committed with its outcome. When Reckon is down or rate-limiting, the records stay
pending, the run ends "partial" and the runner retries what it left unfinished, waiting longer
each time (`retry_delays`). So does a sync that could not reach Reckon before its first record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from portal.extensions import db
from portal.models import EntityKind, RetryMode
from portal.services.accounting import source as src
from portal.services.accounting.map import NeedsAction
from portal.services.accounting.push import ReckonDown, Unchanged, pending_ids
from portal.services.accounting.setup import open_sync
from portal.services.accounting.sync import (
    SyncEnv,
    sync_customer,
    sync_invoice,
    sync_item,
    sync_payment,
)

from .context import ItemSkipped, RunContext, WorkItem
from .kind import JobKind

KIND = "accounting.sync"
MAX_RETRY_DELAY = 3600.0
Work = list[tuple[str, str, Any]]  # (item ref, label, what the phase's handler takes)


def retry_delays() -> tuple[float, ...]:
    """While Reckon is down: base * 2**attempt seconds, capped at an hour (set in the config)."""
    cfg = current_app.config
    base = cfg["ACCOUNTING_RETRY_BASE_SECONDS"]
    attempts = cfg["ACCOUNTING_RETRY_MAX_ATTEMPTS"]
    return tuple(min(base * 2**n, MAX_RETRY_DELAY) for n in range(attempts))


def run_accounting_sync(ctx: RunContext) -> None:
    try:
        env, cliniko = open_sync(ctx.clinic, checkpoint=db.session.commit)
    except ReckonDown:
        ctx.retry_wanted = True  # nothing was sent: the retry does the whole sync
        raise
    phases = _Phases(ctx, env, full=bool(ctx.params.get("full")))
    try:
        with ctx.keep_loaded():  # the clinic's cross-references, held for lookups all run long
            phases.run(cliniko)
    finally:
        cliniko.close()
        env.reckon.close()
        # Only an outage is worth retrying: a record Reckon refused would be refused again.
        ctx.retry_wanted = phases.transient > 0


class _Phases:
    """Reads what changed, then pushes it phase by phase, moving watermarks only past success."""

    def __init__(self, ctx: RunContext, env: SyncEnv, full: bool) -> None:
        self.ctx, self.env, self.full = ctx, env, full
        self.transient = 0
        self.settings = env.settings
        env.load_records()

    def _since(self, entity: str) -> datetime | None:
        return src.since(self.ctx.clinic, entity, self.full)

    def _read(self, cliniko: Any) -> tuple[Work, Work, Work, dict[str, list[Any]]]:
        """What changed in Cliniko: items, customers and invoices to check, and invoice lines."""
        self.ctx.note("Reading changes from Cliniko…")
        settings = self.settings
        items = src.read_items(cliniko, self._since("items")) if settings.sync_items else []
        invoices = src.read_invoices(cliniko, self._since("invoices"), settings.sync_from)
        if not settings.sync_invoices:
            invoices = []
        needed = {i.patient_id for i in invoices if i.patient_id and not i.archived_at}
        missing = {p for p in needed if not self._synced(self.env.customers.get(p))}
        patients = src.read_patients(cliniko, self._since("patients"), missing)
        known = set(self.env.customers) | needed
        patients = {k: v for k, v in patients.items() if k in known}
        return (
            [(f"item:{k}", v.name, (k, v)) for k, v in items],
            [(f"customer:{k}", _name(r), r) for k, r in patients.items()],
            [(f"invoice:{i.id}", f"Invoice #{i.number}", i) for i in invoices],
            src.read_lines(cliniko, invoices),
        )

    def run(self, cliniko: Any) -> None:
        items, customers, invoices, lines = self._read(cliniko)
        # A retry counts only what it will process: the rest was done by the runs it retries.
        self.ctx.set_total(sum(self.ctx.wants(w[0]) for w in items + customers + invoices))
        self._phase(
            1, "items", "items", items, lambda p: sync_item(self.env, *p), lambda p: p[1].updated_at
        )
        if self.settings.sync_customers:
            self._phase(
                2,
                "customers",
                "patients",
                customers,
                lambda r: sync_customer(self.env, r),
                src.patient_updated_at,
            )
        self._phase(
            3,
            "invoices",
            "invoices",
            invoices,
            lambda i: sync_invoice(self.env, i, lines.get(i.id, [])),
            lambda i: i.updated_at,
        )
        if self.settings.sync_payments:
            self._payments()
        db.session.commit()

    @staticmethod
    def _synced(rec: Any) -> bool:
        return bool(rec and rec.reckon_id)

    def _payments(self) -> None:
        invoices = self.env.known[EntityKind.INVOICE]
        payments = self.env.known[EntityKind.PAYMENT]
        todo = [payments[i] for i in pending_ids(self.ctx.clinic, EntityKind.PAYMENT)]
        work = [(f"payment:{p.cliniko_id}", f"Payment of {p.label}", p) for p in todo]
        self.ctx.set_total(self.ctx.run.processed + sum(self.ctx.wants(w[0]) for w in work))
        self._phase(
            4,
            "payments",
            None,
            work,
            lambda p: sync_payment(self.env, p, invoices[p.cliniko_id]),
            lambda p: None,
        )

    def _phase(
        self,
        number: int,
        name: str,
        entity: str | None,
        work: Work,
        handle: Callable[[Any], str],
        stamp: Callable[[Any], datetime | None],
    ) -> None:
        """Process one phase's records, then move its watermark up to the first failure."""
        self.ctx.note(f"Phase {number}/4: {name} — {len(work)} to check", f"Phase: {name}")
        failed: list[datetime | None] = []

        def one(item: WorkItem) -> str:
            try:
                return handle(item.payload)
            except Unchanged as exc:
                _save()  # facts noted on the way (e.g. "now paid") still count
                raise ItemSkipped(str(exc)) from None
            except NeedsAction as exc:
                _save()
                raise ItemSkipped(f"Needs action: {exc}") from None
            except Exception as exc:
                _save()
                failed.append(stamp(item.payload))
                self.transient += isinstance(exc, ReckonDown)
                raise

        items = [WorkItem(ref=ref, label=label, payload=p) for ref, label, p in work]
        self.ctx.process(iter(items), one)
        if entity and not self.ctx.is_retry and not self.ctx.cancelled:
            self._advance(entity, [stamp(p) for _, _, p in work], failed)

    def _advance(self, entity: str, seen: list[Any], failed: list[Any]) -> None:
        stamps = [t for t in seen if t is not None]
        stuck = [t for t in failed if t is not None]
        if len(failed) > len(stuck):  # a failure without a timestamp: hold the watermark
            return
        if stuck:  # stop just before the earliest failure so the next run reads it again
            limit = min(stuck) - timedelta(microseconds=1)
            stamps = [t for t in stamps if t <= limit] or []
        src.advance_watermark(self.ctx.clinic, entity, stamps)
        db.session.commit()


def _name(row: dict[str, Any]) -> str:
    return f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip() or "Patient"


def _save() -> None:
    """Keep the record's state and Reckon's message: the run loop rolls back after a failure."""
    try:
        db.session.commit()
    except Exception:  # the failure itself broke the session; the item outcome still records it
        db.session.rollback()


SYNC_KIND = JobKind(
    KIND,
    "Accounting sync",
    run_accounting_sync,
    default_params=(("full", False),),
    retry_delays=retry_delays,
    retry_mode=RetryMode.UNFINISHED,
)
