"""The RQ entry point: load a run by id, execute its kind, and always leave a final status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.extensions import db, get_redis
from portal.models import ItemOutcome, JobItem, JobRun, JobStatus, RetryMode
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.problems.sources import note_connection_states, note_run_outcome
from portal.services.problems.state import refresh_state_problems

from .context import Heartbeat, RunContext
from .kinds import get_kind, priority_of
from .queue import Priority, get_queue
from .slots import ClinicSlot, note_parked, requeue_parked
from .start import start_follow_up

log = logging.getLogger(__name__)
RETRY_LATER = "portal.jobs.start.retry_failed_later"
RETRIED = {RetryMode.FAILED: "Failed items are", RetryMode.UNFINISHED: "The unfinished work is"}


def _refs(run_ids: list[int], outcomes: tuple[str, ...]) -> set[str]:
    stmt = select(JobItem.ref).where(JobItem.run_id.in_(run_ids), JobItem.outcome.in_(outcomes))
    return set(db.session.scalars(stmt))


def _ancestor_ids(run: JobRun) -> list[int]:
    ids, parent = [], run.parent
    while parent is not None:
        ids.append(parent.id)
        parent = parent.parent
    return ids


def retry_filter(run: JobRun) -> Callable[[str], bool] | None:
    """Which item refs a retry run should process, judged from the runs it retries."""
    if run.parent_id is None:
        return None
    if run.retry_mode == RetryMode.FAILED:
        failed = _refs([run.parent_id], (ItemOutcome.FAILED,))
        return failed.__contains__
    done = _refs(_ancestor_ids(run), (ItemOutcome.OK, ItemOutcome.SKIPPED))
    return lambda ref: ref not in done


def _summary(run: JobRun, status: JobStatus) -> str:
    counts = f"{run.ok_count} ok, {run.skipped_count} skipped, {run.failed_count} failed"
    if status == JobStatus.CANCELLED:
        return f"Cancelled after {run.processed} items ({counts})."
    return f"Finished: {counts}."


def execute_run(run_id: int) -> str:
    """Run one JobRun in a fresh app context (so a fresh session); returns its final status."""
    with current_app.app_context():
        return _execute(run_id)


def _execute(run_id: int) -> str:
    run = db.session.get(JobRun, run_id)
    if run is None or run.status != JobStatus.QUEUED:
        return run.status if run else "missing"
    slot = ClinicSlot(get_redis(), run.clinic_id, run.id, priority_of(run))
    if not slot.take():
        note_parked(run)
        return "parked"
    try:
        return _execute_in_slot(run, slot)
    finally:
        requeue_parked(slot.release())


def _execute_in_slot(run: JobRun, slot: ClinicSlot) -> str:
    run_id = run.id
    run.status, run.started_at, run.heartbeat_at = JobStatus.RUNNING, utcnow(), utcnow()
    run.message = "Starting…"
    db.session.commit()
    heartbeat = Heartbeat(run_id, current_app.config["JOB_HEARTBEAT_SECONDS"], slot.renew)
    heartbeat.start()
    status, message, ctx = JobStatus.FAILED, "", None
    try:
        ctx = RunContext(run, retry_filter(run))
        get_kind(run.kind).run(ctx)
        status = ctx.final_status()
        message = _summary(run, status)
    except Exception as exc:
        db.session.rollback()
        log.exception("run %s stopped", run_id)
        message = f"The run stopped: {exc}"
    finally:
        heartbeat.stop()
        ended = db.session.get(JobRun, run_id)
        assert ended is not None
        ended.status, ended.finished_at, ended.message = status, utcnow(), message
        ended.current_item = ""
        db.session.commit()
    retrying = _after_run(ended, ctx.retry_wanted if ctx else None)
    _note_problems(ended, retrying)
    return str(status)


def _retry_attempt(run: JobRun, mode: RetryMode) -> int:
    """How many retries in the kind's automatic mode came before this run."""
    attempt, parent = 0, run
    while parent.parent is not None and parent.retry_mode == mode:
        attempt, parent = attempt + 1, parent.parent
    return attempt


def _note_problems(run: JobRun, retrying: bool) -> None:
    """Raise or resolve the problems this run's outcome means (the run itself keeps its status
    whatever happens here)."""
    try:
        note_run_outcome(run, retrying=retrying)
        note_connection_states(run.clinic)
        refresh_state_problems([run.clinic], get_kind(run.kind).changes)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("run %s: could not record its problems", run.id)


def _after_run(run: JobRun, retry_wanted: bool | None) -> bool:
    """Schedule the kind's automatic retry, and start the runs the kind says follow it; whether
    a retry was scheduled."""
    kind = get_kind(run.kind)
    wanted = bool(run.failed_count) if retry_wanted is None else retry_wanted
    delays = kind.delays()
    attempt = _retry_attempt(run, kind.retry_mode)
    retrying = wanted and attempt < len(delays)
    if retrying:
        delay = delays[attempt]
        # Only starts the retry run, which then queues by its own priority.
        get_queue(Priority.INTERACTIVE).enqueue_in(timedelta(seconds=delay), RETRY_LATER, run.id)
        run.message += f" {RETRIED[kind.retry_mode]} retried automatically in {delay:.0f} s."
        db.session.commit()
    for follow_up in kind.follow_ups:
        if not follow_up.needed(run):
            continue
        try:
            start_follow_up(run.clinic, follow_up.kind)
        except DomainError:  # e.g. the queue is down; the run itself keeps its outcome
            log.warning("run %s: could not start its %s follow-up", run.id, follow_up.kind)
    return retrying
