"""Job runs as the clinic sees them: create, cancel, list, and notice the ones whose worker died."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy import Select, func, select, update

from portal.extensions import db, get_redis
from portal.models import Clinic, ItemOutcome, JobItem, JobRun, JobStatus, RetryMode, User
from portal.models.job import LIVE_STATUSES
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.problems.sources import note_runs_interrupted
from portal.tenancy import owned

from .queue import runs_ahead
from .slots import is_parked

log = logging.getLogger(__name__)


class RunAlreadyActive(DomainError):
    def __init__(self, run: JobRun) -> None:
        super().__init__(f"A {run.kind} run is already going in this clinic (run #{run.id}).")
        self.run = run


def active_run(clinic: Clinic, kind: str) -> JobRun | None:
    stmt = owned(JobRun, clinic).where(JobRun.kind == kind, JobRun.status.in_(LIVE_STATUSES))
    return db.session.scalar(stmt.limit(1))


def create_run(
    clinic: Clinic,
    actor: User | None,
    kind: str,
    params: dict[str, Any],
    *,
    title: str,
    parent: JobRun | None = None,
    retry_mode: RetryMode | None = None,
) -> JobRun:
    """Add a queued run, refusing a second live run of the same kind in the clinic."""
    existing = active_run(clinic, kind)
    if existing is not None:
        raise RunAlreadyActive(existing)
    run = JobRun(
        clinic_id=clinic.id,
        user_id=actor.id if actor else None,
        kind=kind,
        title=title,
        params=params,
        status=JobStatus.QUEUED,
        parent_id=parent.id if parent else None,
        retry_mode=retry_mode,
        message="Waiting for a worker…",
    )
    db.session.add(run)
    db.session.flush()
    record_event("job.start", actor, clinic=clinic, target=f"run #{run.id}", detail={"kind": kind})
    return run


def cancel_run(run: JobRun, actor: User) -> None:
    """Stop a queued run now; ask a running one to stop after its current item."""
    if not run.is_live:
        raise DomainError("This run has already finished.")
    if run.status == JobStatus.QUEUED:
        run.status = JobStatus.CANCELLED
        run.finished_at = utcnow()
        run.message = "Cancelled before it started."
    else:
        run.cancel_requested = True
        run.message = "Cancelling after the current item…"
    record_event("job.cancel", actor, clinic=run.clinic, target=f"run #{run.id}")
    db.session.flush()


def queue_note(run: JobRun) -> str:
    """Where a queued run stands ("Queued behind 12 runs."); '' when it is not in a queue (it
    started, or it waits for its clinic's slot, which its message says)."""
    if run.status != JobStatus.QUEUED or not run.rq_job_id:
        return ""
    try:
        ahead = runs_ahead(run.rq_job_id)
    except RedisError:
        return "The job queue cannot be reached just now."
    if ahead is None:
        return ""
    if ahead == 0:
        return "Next in the queue."
    return f"Queued behind {ahead} run{'s' if ahead != 1 else ''}."


def sweep_stale_runs() -> int:
    """Mark runs whose worker died, or whose queue entry vanished, as interrupted; how many."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_AFTER_SECONDS"])
    stale = (JobRun.status == JobStatus.RUNNING, JobRun.heartbeat_at < cutoff)
    # Look first, so the usual case (nothing stale) is a read, not a write that takes SQLite's
    # write lock from the workers.
    stale_ids = list(db.session.scalars(select(JobRun.id).where(*stale)))
    if not stale_ids:
        return _sweep_lost_queued(cutoff)
    result = db.session.execute(
        update(JobRun)
        .where(*stale, JobRun.id.in_(stale_ids))
        .values(
            status=JobStatus.INTERRUPTED,
            finished_at=utcnow(),
            message="The worker stopped during this run (killed or out of memory). "
            "Items already recorded are kept; retry to finish the rest.",
        )
        .execution_options(synchronize_session=False)
    )
    note_runs_interrupted(stale_ids)
    return int(result.rowcount or 0) + _sweep_lost_queued(cutoff)  # type: ignore[attr-defined]


def sweep_later(app: Flask, delay: float) -> threading.Timer:
    """Sweep once, `delay` seconds from now, on a thread of its own.

    For a worker that starts in place of one that died mid-run: that run goes stale only
    JOB_STALE_AFTER_SECONDS after its last heartbeat, and the scheduler's tick may be a minute
    away (longer while the dead worker's scheduler lock expires)."""

    def sweep() -> None:
        with app.app_context():
            try:
                sweep_stale_runs()
                db.session.commit()
            except Exception:  # the tick sweeps again within the minute
                log.warning("the delayed stale-run sweep failed", exc_info=True)

    timer = threading.Timer(delay, sweep)
    timer.daemon = True
    timer.start()
    return timer


def _sweep_lost_queued(cutoff: datetime) -> int:
    """Queued runs whose RQ job is gone (Redis lost its data) would otherwise wait forever."""
    waiting = list(
        db.session.scalars(
            select(JobRun).where(JobRun.status == JobStatus.QUEUED, JobRun.created_at < cutoff)
        )
    )
    if not waiting:
        return 0
    redis = get_redis()
    try:
        lost = [
            run
            for run in waiting
            if not (run.rq_job_id and Job.exists(run.rq_job_id, redis))
            and not is_parked(redis, run.clinic_id, run.id)  # waiting for its clinic's slot
        ]
    except RedisError:
        return 0  # cannot tell while Redis is down; the next sweep decides
    for run in lost:
        run.status, run.finished_at = JobStatus.INTERRUPTED, utcnow()
        run.message = "The job queue lost this run before a worker started it. Retry to run it."
    db.session.flush()
    note_runs_interrupted(run.id for run in lost)
    return len(lost)


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date, clinic: Clinic) -> datetime:
    """Midnight of `day` in the clinic's own time zone: "today" means the clinic's today."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(clinic.timezone))


def runs_query(clinic: Clinic, filters: RunFilters) -> Select[JobRun]:
    stmt = owned(JobRun, clinic)
    if filters.status:
        stmt = stmt.where(JobRun.status == filters.status)
    if filters.kind:
        stmt = stmt.where(JobRun.kind == filters.kind)
    if filters.date_from:
        stmt = stmt.where(JobRun.created_at >= _day_start(filters.date_from, clinic))
    if filters.date_to:
        stmt = stmt.where(
            JobRun.created_at < _day_start(filters.date_to + timedelta(days=1), clinic)
        )
    return stmt.order_by(JobRun.created_at.desc(), JobRun.id.desc())


def items_query(run: JobRun, outcome: str = "") -> Select[JobItem]:
    stmt = select(JobItem).where(JobItem.run_id == run.id)
    if outcome in set(ItemOutcome):
        stmt = stmt.where(JobItem.outcome == outcome)
    return stmt.order_by(JobItem.id.desc())


def count(stmt: Select[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


@dataclass(frozen=True)
class Tally:
    """A run's item outcomes counted from the items themselves, with the newest item's id: a page
    that shows these counts beside the items up to `last_id` shows one consistent moment."""

    counts: dict[str, int]
    last_id: int

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    def of(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def item_tally(run: JobRun) -> Tally:
    stmt = (
        select(JobItem.outcome, func.count(), func.max(JobItem.id))
        .where(JobItem.run_id == run.id)
        .group_by(JobItem.outcome)
    )
    counts, last = {}, 0
    for outcome, n, top in db.session.execute(stmt):
        counts[outcome] = int(n)
        last = max(last, int(top or 0))
    return Tally(counts, last)
