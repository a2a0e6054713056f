"""The accounting sync job: items, customers, invoices, payments — each phase with live progress.

Each record is committed with its outcome. When Reckon is down or rate-limiting, the records stay
pending, the run ends "partial" and a retry is scheduled with exponential backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from portal.clients.parsing import to_datetime
from portal.extensions import db
from portal.models import EntityKind
from portal.services import DomainError
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
from .queue import get_queue
from .registry import job_kind

log = logging.getLogger(__name__)
KIND = "accounting.sync"
RETRY = "portal.jobs.accounting_sync.retry_sync"


@job_kind(KIND, "Accounting sync", full=False)
def run_accounting_sync(ctx: RunContext) -> None:
    env, cliniko = open_sync(ctx.clinic, checkpoint=db.session.commit)
    phases = _Phases(ctx, env, full=bool(ctx.params.get("full")))
    try:
        with ctx.keep_loaded():  # the clinic's cross-references, held for lookups all run long
            phases.run(cliniko)
    finally:
        cliniko.close()
        env.reckon.close()
    if phases.transient:
        schedule_retry(ctx.clinic.id, int(ctx.params.get("attempt", 0)))


class _Phases:
    """Reads what changed, then pushes it phase by phase, moving watermarks only past success."""

    def __init__(self, ctx: RunContext, env: SyncEnv, full: bool) -> None:
        self.ctx, self.env, self.full = ctx, env, full
        self.transient = 0
        self.settings = env.settings
        env.load_records()

    def _since(self, entity: str) -> datetime | None:
        return src.since(self.ctx.clinic, entity, self.full)

    def run(self, cliniko: Any) -> None:
        ctx, clinic = self.ctx, self.ctx.clinic
        ctx.note("Reading changes from Cliniko…")
        items = src.read_items(cliniko, self._since("items")) if self.settings.sync_items else []
        invoices = src.read_invoices(cliniko, self._since("invoices"), self.settings.sync_from)
        if not self.settings.sync_invoices:
            invoices = []
        needed = {i.patient_id for i in invoices if i.patient_id and not i.archived_at}
        missing = {p for p in needed if not self._synced(self.env.customers.get(p))}
        patients = src.read_patients(cliniko, self._since("patients"), missing)
        known = set(self.env.customers) | needed
        patients = {k: v for k, v in patients.items() if k in known}
        lines = src.read_lines(cliniko, invoices)
        ctx.set_total(len(items) + len(patients) + len(invoices))
        self._phase(
            1,
            "items",
            "items",
            [(f"item:{k}", v.name, (k, v)) for k, v in items],
            lambda p: sync_item(self.env, *p),
            lambda p: p[1].updated_at,
        )
        if self.settings.sync_customers:
            self._phase(
                2,
                "customers",
                "patients",
                [(f"customer:{k}", _name(r), r) for k, r in patients.items()],
                lambda r: sync_customer(self.env, r),
                lambda r: to_datetime(r.get("updated_at")),
            )
        self._phase(
            3,
            "invoices",
            "invoices",
            [(f"invoice:{i.id}", f"Invoice #{i.number}", i) for i in invoices],
            lambda i: sync_invoice(self.env, i, lines.get(i.id, [])),
            lambda i: i.updated_at,
        )
        if self.settings.sync_payments:
            self._payments()
        db.session.commit()
        del clinic

    @staticmethod
    def _synced(rec: Any) -> bool:
        return bool(rec and rec.reckon_id)

    def _payments(self) -> None:
        invoices = self.env.known[EntityKind.INVOICE]
        payments = self.env.known[EntityKind.PAYMENT]
        todo = [payments[i] for i in pending_ids(self.ctx.clinic, EntityKind.PAYMENT)]
        self.ctx.set_total(self.ctx.run.processed + len(todo))
        work = [(f"payment:{p.cliniko_id}", f"Payment of {p.label}", p) for p in todo]
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
        work: list[tuple[str, str, Any]],
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


def schedule_retry(clinic_id: int, attempt: int) -> None:
    """Queue a later sync with exponential backoff; one pending retry per clinic."""
    cfg = current_app.config
    if attempt >= cfg["ACCOUNTING_RETRY_MAX_ATTEMPTS"]:
        log.warning("clinic %s: accounting sync retries exhausted", clinic_id)
        return
    delay = min(cfg["ACCOUNTING_RETRY_BASE_SECONDS"] * 2**attempt, 3600)
    get_queue().enqueue_in(
        timedelta(seconds=delay),
        RETRY,
        clinic_id,
        attempt + 1,
        job_id=f"accounting-retry-{clinic_id}",
    )


def retry_sync(clinic_id: int, attempt: int) -> str:
    """The scheduled retry: start an incremental sync unless one is already going."""
    from portal.jobs.runs import RunAlreadyActive
    from portal.models import Clinic

    from .start import start_run

    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        return "missing"
    try:
        return str(start_run(clinic, None, KIND, {"attempt": attempt}).id)
    except (RunAlreadyActive, DomainError) as exc:
        return str(exc)
