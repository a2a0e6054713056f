"""Starting runs: create the JobRun, commit it, then queue its id for a worker."""

from __future__ import annotations

from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Clinic, JobRun, JobStatus, RetryMode, User
from portal.services import DomainError

from .kinds import get_kind, priority_of
from .queue import enqueue_run
from .runs import RunAlreadyActive, active_run, create_run


def start_run(clinic: Clinic, actor: User | None, kind: str, params: Any = None) -> JobRun:
    """Create a run, commit it, and queue it; refuses a second live run of the same kind."""
    job_kind = get_kind(kind)
    if job_kind.demo_only and not current_app.config["DEMO_MODE"]:
        raise LookupError(f"{kind} runs exist only in demo mode")
    merged = dict(job_kind.default_params) | dict(params or {})
    return _create_and_enqueue(clinic, actor, kind, job_kind.title, merged, None, None)


def retry_run(run: JobRun, actor: User | None, mode: RetryMode) -> JobRun:
    """Start a run of the same kind that handles only the failed, or all unfinished, items."""
    if run.is_live:
        raise DomainError("This run is still going.")
    # Titled as the run it retries: no lookup, so even a run of a retired kind can be retried.
    return _create_and_enqueue(run.clinic, actor, run.kind, run.title, run.params, run, mode)


def _create_and_enqueue(
    clinic: Clinic,
    actor: User | None,
    kind: str,
    title: str,
    params: dict[str, Any],
    parent: JobRun | None,
    mode: RetryMode | None,
) -> JobRun:
    try:
        run = create_run(clinic, actor, kind, params, title=title, parent=parent, retry_mode=mode)
        db.session.commit()
    except IntegrityError:
        # Another request started the same kind between our check and insert.
        db.session.rollback()
        existing = active_run(clinic, kind)
        if existing is None:
            raise
        raise RunAlreadyActive(existing) from None
    try:
        run.rq_job_id = enqueue_run(run.id, priority_of(run))
    except RedisError as exc:
        run.status, run.message = JobStatus.FAILED, f"Could not reach the job queue: {exc}"
        db.session.commit()
        raise DomainError("The job queue is unreachable; the run was not started.") from exc
    db.session.commit()
    return run


def retry_failed_later(run_id: int) -> str:
    """RQ entry for an automatic retry: retry the run (its failed items, or all it left
    unfinished, as its kind says) unless a retry of it exists."""
    with current_app.app_context():  # a fresh session, as for every job
        return _retry_failed(run_id)


def _retry_failed(run_id: int) -> str:
    run = db.session.get(JobRun, run_id)
    if run is None or run.is_live:
        return "nothing to retry"
    newer = db.session.scalar(db.select(JobRun.id).where(JobRun.parent_id == run.id).limit(1))
    if newer is not None:
        return "already retried"
    try:
        return f"run #{retry_run(run, None, get_kind(run.kind).retry_mode).id}"
    except RunAlreadyActive as busy:
        return f"run #{busy.run.id} is going; it will be retried after"


def start_follow_up(clinic: Clinic, kind: str) -> JobRun | None:
    """Start another run of `kind` for work that arrived during the last one (if none is live)."""
    try:
        return start_run(clinic, None, kind)
    except RunAlreadyActive:
        return None
