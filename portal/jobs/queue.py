"""The RQ queues on the app's Redis connection (held in `portal.extensions`): the main one, and
a low-priority one for housekeeping (the scheduled connection checks) that workers take from
only when the main queue is empty, so it never delays a person's run."""

from __future__ import annotations

from flask import current_app
from rq import Queue

from portal.extensions import get_redis

EXECUTE = "portal.jobs.runner.execute_run"


def get_queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())


def get_low_queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"] + "-low", connection=get_redis())


def worker_queues() -> list[Queue]:
    """What a worker listens to, in order: RQ takes from the first queue that has a job."""
    return [get_queue(), get_low_queue()]


def enqueue_run(run_id: int, low_priority: bool = False) -> str:
    """Put the run on the queue by id; the RQ job id is derived so it is easy to find again."""
    queue = get_low_queue() if low_priority else get_queue()
    job = queue.enqueue(
        EXECUTE,
        run_id,
        job_id=f"run-{run_id}",
        job_timeout=current_app.config["JOB_TIMEOUT_SECONDS"],
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    return str(job.id)
