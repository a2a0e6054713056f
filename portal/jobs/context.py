"""What a job body uses while it works: the item loop, progress, cancel checks and a heartbeat."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Clinic, ItemOutcome, JobItem, JobRun, JobStatus
from portal.models.types import utcnow

log = logging.getLogger(__name__)
SHOW_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class WorkItem:
    """One thing a run processes; `ref` identifies it across runs (used by retries)."""

    ref: str
    label: str = ""
    payload: Any = None


class ItemSkipped(Exception):
    """Raised by an item handler when there is nothing to do; the message says why."""


Handler = Callable[[WorkItem], str | None]


class RunContext:
    """Progress and cancellation for one run; every item is committed with its outcome."""

    def __init__(self, run: JobRun, wanted: Callable[[str], bool] | None = None) -> None:
        self.run = run
        self.run_id = run.id
        self.params: dict[str, Any] = dict(run.params or {})
        self.clinic: Clinic = run.clinic
        self.is_retry = run.parent_id is not None
        self.cancelled = False
        self._wanted = wanted or (lambda ref: True)
        self._last_shown = 0.0

    def set_total(self, total: int) -> None:
        self.run.total = total
        db.session.commit()

    def note(self, message: str, current_item: str | None = None) -> None:
        """Tell the watcher what the run is doing now."""
        self.run.message = message
        if current_item is not None:
            self.run.current_item = current_item[:255]
        self.run.heartbeat_at = utcnow()
        db.session.commit()

    def stop_requested(self) -> bool:
        flag = db.session.scalar(select(JobRun.cancel_requested).where(JobRun.id == self.run_id))
        return bool(flag)

    def process(self, items: Iterable[WorkItem], handle: Handler, total: int | None = None) -> None:
        """Run `handle` on each wanted item, recording its outcome; stop when cancelled."""
        if total is None and isinstance(items, Sized):
            items = [item for item in items if self._wanted(item.ref)]
            total = len(items)
        if total is not None:
            self.set_total(total)
        for item in items:
            if not self._wanted(item.ref):
                continue
            if self.stop_requested():
                self.cancelled = True
                return
            self._starting(item)
            self._handle_one(item, handle)

    def _starting(self, item: WorkItem) -> None:
        """Show the item being worked on; committed at most twice a second, because each item's
        outcome commit shows it anyway and a commit per item per step slows fast runs."""
        self.run.message = f"Working on {item.label or item.ref}"
        self.run.current_item = (item.label or item.ref)[:255]
        if time.monotonic() - self._last_shown >= SHOW_EVERY_SECONDS:
            self.run.heartbeat_at = utcnow()
            db.session.commit()
            self._last_shown = time.monotonic()

    def _handle_one(self, item: WorkItem, handle: Handler) -> None:
        try:
            outcome, message = ItemOutcome.OK, handle(item) or ""
        except ItemSkipped as skip:
            db.session.rollback()
            outcome, message = ItemOutcome.SKIPPED, str(skip)
        except Exception as exc:  # one bad item must never end the run
            db.session.rollback()
            log.warning("run %s item %s failed", self.run_id, item.ref, exc_info=True)
            outcome, message = ItemOutcome.FAILED, str(exc) or type(exc).__name__
        self.record(item, outcome, message)

    def record(self, item: WorkItem, outcome: ItemOutcome, message: str = "") -> None:
        """Store one item's outcome and bump the counters in the same transaction."""
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
            ItemOutcome.OK: "ok_count",
            ItemOutcome.SKIPPED: "skipped_count",
            ItemOutcome.FAILED: "failed_count",
        }[outcome]
        setattr(self.run, counter, getattr(self.run, counter) + 1)
        self.run.processed += 1
        self.run.heartbeat_at = utcnow()
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

    def __init__(self, run_id: int, interval: float) -> None:
        self.run_id = run_id
        self.interval = interval
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
            except Exception:  # a missed beat is harmless; the next one retries
                log.warning("heartbeat for run %s failed", self.run_id, exc_info=True)
