"""The accounting sync job: items, customers, invoices (with their credit notes), payments and
voucher sales, each phase with live progress; then the voucher liability is compared.

Each record is committed with its outcome. When Reckon is down or rate-limiting, the records stay
pending, the run ends "partial" and the runner retries what it left unfinished, waiting longer
each time (`retry_delays`). So does a sync that could not reach Reckon before its first record.
The preview job (`accounting.preview`) runs the same phases without writing anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app

from portal.extensions import db
from portal.models import EntityKind, RetryMode, SyncState
from portal.services import DomainError
from portal.services.accounting import source as src
from portal.services.accounting.customers import count_emails, prepare_matching, sync_customer
from portal.services.accounting.invoices import sync_invoice
from portal.services.accounting.map import NeedsAction
from portal.services.accounting.payments import sync_payment
from portal.services.accounting.preview import finish_preview, new_preview
from portal.services.accounting.push import Later, ReckonDown, Unchanged
from portal.services.accounting.setup import open_sync
from portal.services.accounting.sync import VOUCHER_ITEM_KEY, SyncEnv, sync_item
from portal.services.accounting.vouchers import (
    breakage_due,
    check_liability,
    liability_current,
    sale_unchanged,
    sync_breakage,
    sync_voucher_sale,
    vouchers_to_post,
)
from portal.services.problems.state import StateGroup

from .context import Deferred, ItemSkipped, RunContext, WorkItem
from .kind import JobKind

KIND = "accounting.sync"
PREVIEW = "accounting.preview"
MAX_RETRY_DELAY = 3600.0
PHASES = 5
WRITES_IN_FLIGHT = 4  # on PostgreSQL, unless ACCOUNTING_WRITES_IN_FLIGHT says otherwise
TOKEN_MARGIN_SECONDS = 600  # a chunk's writes take seconds: the token outlives them
CLAIM_EVERY = 50  # records claimed (one commit) before they are sent: see SyncEnv.claim_records
CLAIMED = {
    "item": EntityKind.ITEM,
    "customer": EntityKind.CUSTOMER,
    "invoice": EntityKind.INVOICE,
    "payment": EntityKind.PAYMENT,
    "sale": EntityKind.VOUCHER_SALE,
    "breakage": EntityKind.BREAKAGE,
}
T = TypeVar("T")
Work = list[tuple[str, str, Any]]  # (item ref, label, what the phase's handler takes)


def retry_delays() -> tuple[float, ...]:
    """While Reckon is down: base * 2**attempt seconds, capped at an hour (set in the config)."""
    cfg = current_app.config
    base = cfg["ACCOUNTING_RETRY_BASE_SECONDS"]
    attempts = cfg["ACCOUNTING_RETRY_MAX_ATTEMPTS"]
    return tuple(min(base * 2**n, MAX_RETRY_DELAY) for n in range(attempts))


def run_accounting_sync(ctx: RunContext) -> None:
    # "Keep in sync" runs every few minutes: Reckon is asked nothing until a record needs it.
    continuous = bool(ctx.params.get("continuous"))
    try:
        env, cliniko = open_sync(ctx.clinic, checkpoint=db.session.commit, lazy=continuous)
    except ReckonDown:
        ctx.retry_wanted = True  # nothing was sent: the retry does the whole sync
        raise
    phases = _Phases(ctx, env, full=bool(ctx.params.get("full")))
    try:
        # The clinic's cross-references stay loaded all run long, for lookups; each handler
        # commits before it raises, so outcomes can be recorded many at a time.
        with ctx.keep_loaded(), ctx.outcomes_in_batches(), _writers(env):
            phases.run(cliniko)
        quiet = continuous and not ctx.run.ok_count and liability_current(ctx.clinic)
        if not phases.transient and not ctx.cancelled and not quiet:
            _check_liability(ctx, env)
    finally:
        cliniko.close()
        env.reckon.close()
        # Only an outage is worth retrying: a record Reckon refused would be refused again.
        ctx.retry_wanted = phases.transient > 0


@contextmanager
def _writers(env: SyncEnv) -> Iterator[None]:
    """Threads for the Reckon writes that may run ahead (`SyncEnv.push_later`), for the run."""
    count = current_app.config["ACCOUNTING_WRITES_IN_FLIGHT"] or (
        1 if db.engine.dialect.name == "sqlite" else WRITES_IN_FLIGHT
    )
    if count <= 1:
        yield
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Each thread has the app's context (a token refreshed there is saved on its own
    # connection) but never the run's session: the calls it makes read no database row.
    with ThreadPoolExecutor(
        count, thread_name_prefix="reckon-writes", initializer=lambda: app.app_context().push()
    ) as writer:
        env.writer = writer
        try:
            yield
        finally:
            env.writer = None


def _check_liability(ctx: RunContext, env: SyncEnv) -> None:
    ctx.note("Comparing the voucher liability with VaocherApp…")
    try:
        check = check_liability(env)
    except DomainError as exc:  # the sync itself is done; say why the figure is missing
        ctx.note(f"Voucher liability not compared: {exc}")
        db.session.rollback()
        return
    db.session.commit()
    if check is not None:
        state = "agrees" if check.agrees else "differs"
        ctx.note(
            f"Voucher liability {state}: Reckon {check.reckon_balance}, "
            f"VaocherApp {check.outstanding}."
        )


def run_accounting_preview(ctx: RunContext) -> None:
    """What the sync would write (a dry run): nothing is sent to Reckon or stored as synced."""
    env, cliniko = open_sync(ctx.clinic, checkpoint=lambda: None, dry=True)
    preview = new_preview(ctx.clinic, ctx.run_id)
    db.session.commit()
    phases = _Phases(ctx, env, full=True)
    ok = False
    try:
        phases.run(cliniko)
        ok = not ctx.cancelled
    finally:
        cliniko.close()
        env.reckon.close()
        db.session.rollback()
        finish_preview(preview, env.plan, ok and not phases.failures)
        db.session.commit()


class _Phases:
    """Reads what changed, then pushes it phase by phase, moving watermarks only past success."""

    def __init__(self, ctx: RunContext, env: SyncEnv, full: bool) -> None:
        self.ctx, self.env, self.full = ctx, env, full
        self.transient = 0
        self.failures = 0
        self.every_invoice = False  # set by _read
        self.settings = env.settings
        env.load_records()

    def _since(self, entity: str) -> datetime | None:
        return src.since(self.ctx.clinic, entity, self.full or self.env.dry)

    def _read(self, cliniko: Any) -> tuple[Work, Work, Work, list[Any]]:
        """What changed in Cliniko: items, customers and invoices to check, and the invoices
        whose lines are to be read."""
        self.ctx.note("Reading changes from Cliniko…")
        settings = self.settings
        items = src.read_items(cliniko, self._since("items")) if settings.sync_items else []
        since = self._since("invoices")
        invoices = src.read_invoices(cliniko, since, settings.sync_from)
        self.every_invoice = since is None and settings.sync_from is None
        if not settings.sync_invoices:
            invoices = []
        needed = {i.patient_id for i in invoices if i.patient_id and not i.archived_at}
        missing = {p for p in needed if not self._synced(self.env.customers.get(p))}
        patients = src.read_patients(cliniko, self._since("patients"), missing)
        if settings.customer_scope != "all":  # only patients with invoices become customers
            known = set(self.env.customers) | needed
            patients = {k: v for k, v in patients.items() if k in known}
        count_emails(self.env, list(patients.values()))
        if settings.sync_customers:
            prepare_matching(self.env, list(patients.values()))
        item_work = [(f"item:{k}", v.name, (k, v)) for k, v in items]
        if settings.sync_items:
            item_work.insert(
                0, (f"item:{VOUCHER_ITEM_KEY}", "Gift voucher", (VOUCHER_ITEM_KEY, None))
            )
        return (
            item_work,
            [(f"customer:{k}", _name(r), r) for k, r in patients.items()],
            [(f"invoice:{i.id}", f"Invoice #{i.number}", i) for i in invoices],
            invoices,
        )

    def run(self, cliniko: Any) -> None:
        items, customers, invoices, read = self._read(cliniko)
        # The invoices' lines (the biggest read, bound by Cliniko's rate limit) are read on
        # another thread while items and customers go to Reckon: the Cliniko client is that
        # thread's alone meanwhile, and it touches no database. No invoice is sent before
        # every line has arrived; a failed read fails the run there, as before.
        stop = threading.Event()
        with ThreadPoolExecutor(1, thread_name_prefix=f"lines-{self.ctx.run_id}") as reader:
            every = self.every_invoice  # every invoice the clinic has: every line at once
            pending = reader.submit(src.read_lines, cliniko, read, stop.is_set, every=every)
            try:
                self._push(items, customers, invoices, pending)
            finally:
                stop.set()  # a run that ends early stops reading what it will not use

    def _push(self, items: Work, customers: Work, invoices: Work, pending: Future[Any]) -> None:
        # A retry counts only what it will process: the rest was done by the runs it retries.
        total = sum(self.ctx.wants(w[0]) for w in items + customers + invoices)
        self.ctx.set_total(total, commit=False)  # with the first phase's start
        self._phase(
            1, "items", "items", items, lambda p: sync_item(self.env, *p), lambda p: _stamp(p[1])
        )
        if self.settings.sync_customers:
            self._phase(
                2,
                "customers",
                "patients",
                customers + self._undecided(customers),
                lambda r: sync_customer(self.env, r),
                src.patient_updated_at,
            )
        if not pending.done():
            self.ctx.note("Reading invoice lines from Cliniko…")
        while not pending.done():
            if self.ctx.stop_requested():
                self.ctx.cancelled = True
                return
            wait([pending], timeout=1.0)
        lines = pending.result()
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
        if self.settings.sync_vouchers:
            self._vouchers()
        db.session.commit()

    def _undecided(self, customers: Work) -> Work:
        """Patients a person has decided about since the last run (their rows are not re-read)."""
        listed = {ref for ref, _, _ in customers}
        return [
            (f"customer:{r.cliniko_id}", r.label or r.cliniko_id, {"id": r.cliniko_id, **_row(r)})
            for r in self.env.customers.values()
            if f"customer:{r.cliniko_id}" not in listed
            and r.state == SyncState.PENDING
            and (r.details or {}).get("row")
        ]

    @staticmethod
    def _synced(rec: Any) -> bool:
        return bool(rec and rec.reckon_id)

    def _payments(self) -> None:
        invoices = self.env.known[EntityKind.INVOICE]
        todo = [
            p
            for p in self.env.known[EntityKind.PAYMENT].values()
            if p.state in (SyncState.PENDING, SyncState.FAILED) and p.cliniko_id in invoices
        ]
        work = [(f"payment:{p.cliniko_id}", f"Payment of {p.label}", p) for p in todo]
        total = self.ctx.run.processed + sum(self.ctx.wants(w[0]) for w in work)
        self.ctx.set_total(total, commit=False)  # with the phase's start
        self._phase(
            4,
            "payments",
            None,
            work,
            lambda p: sync_payment(self.env, p, invoices[p.cliniko_id]),
            lambda p: None,
        )

    def _vouchers(self) -> None:
        vouchers = vouchers_to_post(self.ctx.clinic)
        sales = self.env.known[EntityKind.VOUCHER_SALE]
        # An incremental run leaves alone the sales posted since their voucher last changed.
        fresh = [v for v in vouchers if self.full or not sale_unchanged(v, sales.get(v.code))]
        work: Work = [(f"sale:{v.code}", f"Voucher {v.code} sale", ("sale", v, 0)) for v in fresh]
        work += [
            (f"breakage:{v.code}", f"Voucher {v.code} expired", ("breakage", v, cents))
            for v, cents in breakage_due(self.env, vouchers)
        ]
        total = self.ctx.run.processed + sum(self.ctx.wants(w[0]) for w in work)
        self.ctx.set_total(total, commit=False)  # with the phase's start

        def handle(p: tuple[str, Any, int]) -> str | Later:
            what, voucher, cents = p
            if what == "sale":
                return sync_voucher_sale(self.env, voucher)
            return sync_breakage(self.env, voucher, cents)

        self._phase(5, "voucher sales", None, work, handle, lambda p: None)

    def _phase(
        self,
        number: int,
        name: str,
        entity: str | None,
        work: Work,
        handle: Callable[[Any], str | Later],
        stamp: Callable[[Any], datetime | None],
    ) -> None:
        """Process one phase's records, then move its watermark up to the first failure. Its
        start is committed with its first claim, its end (claim released, watermark moved) in
        one commit."""
        self.ctx.note(
            f"Phase {number}/{PHASES}: {name} — {len(work)} to check",
            f"Phase: {name}",
            commit=self.env.dry or not work,
        )
        failed: list[datetime | None] = []
        save = (lambda: None) if self.env.dry else _save

        def guarded(payload: Any, work: Callable[[], T]) -> T:
            try:
                return work()
            except Unchanged as exc:  # facts noted on the way (e.g. "now paid") still count
                raise ItemSkipped(str(exc), keep=not self.env.dry) from None
            except NeedsAction as exc:
                raise ItemSkipped(f"Needs action: {exc}", keep=not self.env.dry) from None
            except Exception as exc:
                save()
                failed.append(stamp(payload))
                self.transient += isinstance(exc, ReckonDown)
                self.failures += 1
                raise

        def one(item: WorkItem) -> str | Deferred:
            result = guarded(item.payload, lambda: handle(item.payload))
            if isinstance(result, Later):  # its Reckon call is under way: finished in turn
                later = result
                return Deferred(
                    later.future,
                    lambda outcome: guarded(item.payload, lambda: later.finish(outcome)),
                )
            return result

        items = [WorkItem(ref=ref, label=label, payload=p) for ref, label, p in work]
        for start in range(0, len(items), CLAIM_EVERY):
            chunk = items[start : start + CLAIM_EVERY]
            if not self.env.dry:
                if self.env.writer is not None:  # so that no writer thread has to refresh it
                    self.env.reckon.keep_fresh(TOKEN_MARGIN_SECONDS)
                self.env.claim_records([r for i in chunk if (r := _claimable(i.ref))])
            self.ctx.process(iter(chunk), one)  # ends with the chunk's outcomes committed
            if self.ctx.cancelled:
                break
        if self.env.dry:
            return
        self.env.release_claim(commit=False)
        if entity and not self.ctx.is_retry and not self.ctx.cancelled:
            self._advance(entity, [stamp(p) for _, _, p in work], failed)
        db.session.commit()

    def _advance(self, entity: str, seen: list[Any], failed: list[Any]) -> None:
        stamps = [t for t in seen if t is not None]
        stuck = [t for t in failed if t is not None]
        if len(failed) > len(stuck):  # a failure without a timestamp: hold the watermark
            return
        if stuck:  # stop just before the earliest failure so the next run reads it again
            limit = min(stuck) - timedelta(microseconds=1)
            stamps = [t for t in stamps if t <= limit] or []
        src.advance_watermark(self.ctx.clinic, entity, stamps)


def _claimable(ref: str) -> tuple[str, str] | None:
    """The record a work item creates, when it is of a kind claimed many at a time (a credit
    note is made by its invoice's item: it keeps a checkpoint of its own)."""
    prefix, _, key = ref.partition(":")
    kind = CLAIMED.get(prefix)
    return (kind, key) if kind else None


def _stamp(item: Any) -> datetime | None:
    return getattr(item, "updated_at", None)


def _name(row: dict[str, Any]) -> str:
    return f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip() or "Patient"


def _row(rec: Any) -> dict[str, Any]:
    return dict((rec.details or {}).get("row") or {})


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
    changes=frozenset({StateGroup.SYNC}),  # record states; never vouchers or plans
)
PREVIEW_KIND = JobKind(
    PREVIEW,
    "Accounting preview (dry run)",
    run_accounting_preview,
    interactive=True,
    changes=frozenset(),  # stores nothing but its own preview
)
