"""The RQ queue on the app's Redis connection (held in `portal.extensions`)."""

from __future__ import annotations

from flask import current_app
from rq import Queue

from portal.extensions import get_redis

EXECUTE = "portal.jobs.runner.execute_run"


def get_queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())


def enqueue_run(run_id: int) -> str:
    """Put the run on the queue by id; the RQ job id is derived so it is easy to find again."""
    job = get_queue().enqueue(
        EXECUTE,
        run_id,
        job_id=f"run-{run_id}",
        job_timeout=current_app.config["JOB_TIMEOUT_SECONDS"],
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    return str(job.id)
