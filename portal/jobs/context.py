"""What a job body uses while it works: the item loop, progress, cancel checks and a heartbeat."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from portal.extensions import db
from portal.models import Clinic, ItemOutcome, JobItem, JobRun, JobStatus
from portal.models.types import utcnow

log = logging.getLogger(__name__)
SHOW_EVERY_SECONDS = 0.5
CHECK_CANCEL_EVERY_SECONDS = 0.25
MAX_DEFERRED = 64
BATCH_ITEMS = 50  # outcomes recorded together, at most, when a run records them in batches
COUNTERS = ["ok_count", "skipped_count", "failed_count", "processed", "heartbeat_at"]


@dataclass(frozen=True)
class WorkItem:
    """One thing a run processes; `ref` identifies it across runs (used by retries)."""

    ref: str
    label: str = ""
    payload: Any = None


class ItemSkipped(Exception):
    """Raised by an item handler when there is nothing to do; the message says why. What the
    handler wrote is rolled back, unless it asks to `keep` it (facts noted on the way)."""

    def __init__(self, message: str = "", keep: bool = False) -> None:
        super().__init__(message)
        self.keep = keep


@dataclass(frozen=True)
class Deferred:
    """An item whose slow part (an upstream call) runs on another thread while the run goes on.

    `future` does the call and touches no database; `finish(result)` runs back on the run's own
    thread, records what the call did and returns the item's message (or raises ItemSkipped)."""

    future: Future[Any]
    finish: Callable[[Any], str | None]


Handler = Callable[[WorkItem], "str | Deferred | None"]
# Work on many items at once: each item's (outcome, message), in order.
ChunkHandler = Callable[[list[WorkItem]], list[tuple[ItemOutcome, str]]]


class RunContext:
    """Progress and cancellation for one run; every item is committed with its outcome."""

    def __init__(self, run: JobRun, wanted: Callable[[str], bool] | None = None) -> None:
        self.run = run
        self.run_id = run.id
        self.params: dict[str, Any] = dict(run.params or {})
        self.clinic: Clinic = run.clinic
        self.is_retry = run.parent_id is not None
        self.cancelled = False
        # Whether the kind's automatic retry should follow this run. None leaves it to the rule
        # "retry when items failed"; a body sets it when only it can tell (e.g. an outage).
        self.retry_wanted: bool | None = None
        self._wanted = wanted or (lambda ref: True)
        self._last_shown = 0.0
        self._last_cancel_check = 0.0
        self._deferred: deque[tuple[WorkItem, Deferred]] = deque()
        self._batch: list[tuple[WorkItem, ItemOutcome, str]] | None = None
        self._batch_since = 0.0

    def wants(self, ref: str) -> bool:
        """Whether this run processes the item `ref` (a retry handles only some)."""
        return self._wanted(ref)

    def set_total(self, total: int, commit: bool = True) -> None:
        """How many items the run will process; `commit=False` when a commit follows at once."""
        self.run.total = total
        if commit:
            db.session.commit()

    def note(self, message: str, current_item: str | None = None, commit: bool = True) -> None:
        """Tell the watcher what the run is doing now (`commit=False`: with the commit that
        follows at once, e.g. a phase's claim)."""
        self.run.message = message
        if current_item is not None:
            self.run.current_item = current_item[:255]
        self.run.heartbeat_at = utcnow()
        if commit:
            db.session.commit()

    @contextmanager
    def keep_loaded(self) -> Iterator[None]:
        """For runs that are the only writer of the rows they hold (one live run per clinic and
        kind): keep those rows loaded across the run's many small commits. By default every
        commit expires every object in the session, which is a re-read per row afterwards and,
        for a run holding thousands of rows, work proportional to all of them at each commit."""
        session = db.session()
        session.expire_on_commit = False
        try:
            yield
        finally:
            session.expire_on_commit = True

    @contextmanager
    def outcomes_in_batches(self) -> Iterator[None]:
        """Record item outcomes many at a time: one insert and one commit for up to BATCH_ITEMS
        items or half a second of work, instead of a commit per item. What the items wrote is
        committed with their outcomes. For handlers that commit before they raise whatever must
        be kept (a failing item is rolled back, and with it anything still uncommitted) and
        whose work is safe to redo when a crash loses the last batch's outcomes."""
        self._batch, self._batch_since = [], time.monotonic()
        try:
            yield
        finally:
            self.flush_outcomes()
            self._batch = None

    def flush_outcomes(self) -> None:
        """Record the outcomes held back by `outcomes_in_batches` (and commit)."""
        if self._batch:
            done, self._batch = self._batch, []
            self.record_many(done)
        self._batch_since = time.monotonic()

    def stop_requested(self) -> bool:
        """Whether someone asked this run to stop. Only another process sets the flag, so the
        run's own pending changes are not flushed for it (they go with the next commit)."""
        with db.session.no_autoflush:
            flag = db.session.scalar(
                select(JobRun.cancel_requested).where(JobRun.id == self.run_id)
            )
        return bool(flag)

    def _cancel_due(self) -> bool:
        """Look for a cancel between items, at most four times a second (one already seen, e.g.
        in an earlier phase, holds at once)."""
        if self.cancelled:
            return True
        if time.monotonic() - self._last_cancel_check < CHECK_CANCEL_EVERY_SECONDS:
            return False
        self._last_cancel_check = time.monotonic()
        return self.stop_requested()

    def process(self, items: Iterable[WorkItem], handle: Handler, total: int | None = None) -> None:
        """Run `handle` on each wanted item, recording its outcome; stop when cancelled."""
        if total is None and isinstance(items, Sized):
            items = [item for item in items if self._wanted(item.ref)]
            total = len(items)
        if total is not None:
            self.set_total(total)
        try:
            for item in items:
                if not self._wanted(item.ref):
                    continue
                if self._cancel_due():
                    self.cancelled = True
                    return
                self._starting(item)
                self._handle_one(item, handle)
                self._settle(wait=len(self._deferred) >= MAX_DEFERRED)
        finally:  # calls already under way finish and are recorded, even on cancel
            while self._deferred:
                self._settle(wait=True)
            self.flush_outcomes()  # the run's counters are current when the loop ends

    def process_chunks(
        self, items: Sequence[WorkItem], handle: ChunkHandler, size: int, one: Handler
    ) -> None:
        """Like `process`, for work that is cheaper many items at a time (a query per chunk,
        not per item): each chunk's outcomes are committed together. A chunk whose handler
        raises is done again item by item with `one`, so a bad item fails alone."""
        wanted = [item for item in items if self._wanted(item.ref)]
        self.set_total(len(wanted))
        for start in range(0, len(wanted), size):
            if self._cancel_due():
                self.cancelled = True
                return
            chunk = wanted[start : start + size]
            self._starting(chunk[0])
            try:
                outcomes = handle(chunk)
            except Exception:
                db.session.rollback()
                log.warning("run %s: a chunk failed; item by item", self.run_id, exc_info=True)
                self.process(iter(chunk), one)
                continue
            self.record_many([(i, o, m) for i, (o, m) in zip(chunk, outcomes, strict=True)])

    def _starting(self, item: WorkItem) -> None:
        """Show the item being worked on; committed at most twice a second, because each item's
        outcome commit shows it anyway and a commit per item per step slows fast runs."""
        self.run.message = f"Working on {item.label or item.ref}"
        self.run.current_item = (item.label or item.ref)[:255]
        if time.monotonic() - self._last_shown >= SHOW_EVERY_SECONDS:
            self.run.heartbeat_at = utcnow()
            db.session.commit()
            self._last_shown = time.monotonic()

    def _handle_one(self, item: WorkItem, handle: Callable[[WorkItem], Any]) -> None:
        try:
            result = handle(item)
            if isinstance(result, Deferred):
                self._deferred.append((item, result))
                return
            outcome, message = ItemOutcome.OK, result or ""
        except ItemSkipped as skip:
            if not skip.keep:
                db.session.rollback()
            outcome, message = ItemOutcome.SKIPPED, str(skip)
        except Exception as exc:  # one bad item must never end the run
            db.session.rollback()
            log.warning("run %s item %s failed", self.run_id, item.ref, exc_info=True)
            outcome, message = ItemOutcome.FAILED, str(exc) or type(exc).__name__
        self.record(item, outcome, message)

    def _settle(self, wait: bool) -> None:
        """Record the deferred items whose calls are done, oldest first; `wait` for one."""
        while self._deferred and (wait or self._deferred[0][1].future.done()):
            item, deferred = self._deferred.popleft()
            wait = False

            def finish(_: WorkItem, deferred: Deferred = deferred) -> str | None:
                return deferred.finish(deferred.future.result())

            self._handle_one(item, finish)

    def record(self, item: WorkItem, outcome: ItemOutcome, message: str = "") -> None:
        """Store one item's outcome and bump the counters in the same transaction."""
        if self._batch is not None:
            self._batch.append((item, outcome, message))
            due = time.monotonic() - self._batch_since >= SHOW_EVERY_SECONDS
            if due or len(self._batch) >= BATCH_ITEMS:
                self.flush_outcomes()
            return
        db.session.add(
            JobItem(
                run_id=self.run_id,
                ref=item.ref[:255],
                label=(item.label or item.ref)[:255],
                outcome=outcome,
                message=message,
            )
        )
        counter = {
            ItemOutcome.OK: JobRun.ok_count,
            ItemOutcome.SKIPPED: JobRun.skipped_count,
            ItemOutcome.FAILED: JobRun.failed_count,
        }[outcome]
        # Counted in SQL on the session's own connection: the run need not be loaded again
        # after every commit, and the ORM's bulk-update machinery is skipped.
        bump = (
            update(JobRun.__table__)
            .where(JobRun.__table__.c.id == self.run_id)
            .values({counter.key: counter + 1, "processed": JobRun.processed + 1})
            .values(heartbeat_at=utcnow())
        )
        db.session.connection().execute(bump)
        db.session.expire(self.run, COUNTERS)
        db.session.commit()

    def record_many(self, done: list[tuple[WorkItem, ItemOutcome, str]]) -> None:
        """Store many items' outcomes and bump the counters, in one transaction."""
        if not done:
            return
        # Core, on the session's connection: the rows need no ORM objects, and psycopg sends
        # them as one prepared statement many times instead of one long, unprepared one.
        db.session.connection().execute(
            insert(JobItem.__table__),
            [
                {
                    "run_id": self.run_id,
                    "ref": item.ref[:255],
                    "label": (item.label or item.ref)[:255],
                    "outcome": outcome,
                    "message": message,
                }
                for item, outcome, message in done
            ],
        )
        counts = Counter(outcome for _, outcome, _ in done)
        table = JobRun.__table__
        bump = (
            update(table)
            .where(table.c.id == self.run_id)
            .values(
                ok_count=table.c.ok_count + counts[ItemOutcome.OK],
                skipped_count=table.c.skipped_count + counts[ItemOutcome.SKIPPED],
                failed_count=table.c.failed_count + counts[ItemOutcome.FAILED],
                processed=table.c.processed + len(done),
                heartbeat_at=utcnow(),
            )
        )
        db.session.connection().execute(bump)
        db.session.expire(self.run, COUNTERS)
        db.session.commit()

    def final_status(self) -> JobStatus:
        run = self.run
        if self.cancelled:
            return JobStatus.CANCELLED
        if run.failed_count and not (run.ok_count or run.skipped_count):
            return JobStatus.FAILED
        if run.failed_count:
            return JobStatus.PARTIAL
        return JobStatus.SUCCEEDED


class Heartbeat:
    """Touches the run's heartbeat from a thread, so long items don't look like a dead worker."""

    def __init__(
        self, run_id: int, interval: float, also: Callable[[], None] = lambda: None
    ) -> None:
        self.run_id = run_id
        self.interval = interval
        self._also = also  # e.g. keep the run's clinic slot
        self._engine = db.engine  # captured here: the thread has no app context of its own
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        update(JobRun)
                        .where(JobRun.id == self.run_id, JobRun.status == JobStatus.RUNNING)
                        .values(heartbeat_at=utcnow())
                    )
                self._also()
            except Exception:  # a missed beat is harmless; the next one retries
                log.warning("heartbeat for run %s failed", self.run_id, exc_info=True)
