"""The RQ queues on the app's Redis connection (held in `portal.extensions`).

Two queues: interactive work (what a person is waiting for: webhook intake, provisioning, a run
a person started, previews) and bulk work (scheduled syncs, reports, connection checks). Workers
take from the interactive queue first (`worker_queues`), so a night of bulk work never stands
between a clinic and the voucher it just sold.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from flask import current_app
from rq import Queue
from rq.job import Job

from portal.extensions import get_redis

EXECUTE = "portal.jobs.runner.execute_run"


class Priority(StrEnum):
    INTERACTIVE = "interactive"
    BULK = "bulk"


def queue_name(priority: Priority) -> str:
    """The interactive queue keeps the configured name (jobs queued before an upgrade are
    still taken); bulk work has its own queue beside it."""
    base = str(current_app.config["RQ_QUEUE"])
    return base if priority == Priority.INTERACTIVE else f"{base}-bulk"


def get_queue(priority: Priority) -> Queue:
    return Queue(queue_name(priority), connection=get_redis())


def worker_queues() -> list[Queue]:
    """What every worker listens to, in the order it takes work: interactive first."""
    return [get_queue(Priority.INTERACTIVE), get_queue(Priority.BULK)]


def enqueue_run(run_id: int, priority: Priority, *, at_front: bool = False) -> str:
    """Put the run on its queue by id. The first RQ job is `run-<id>` (easy to find again); a
    run queued again after waiting for its clinic's slot gets a fresh suffix, so it never
    shares a job record with the attempt that parked it."""
    job_id = f"run-{run_id}-{uuid.uuid4().hex[:8]}" if at_front else f"run-{run_id}"
    job = get_queue(priority).enqueue(
        EXECUTE,
        run_id,
        job_id=job_id,
        job_timeout=current_app.config["JOB_TIMEOUT_SECONDS"],
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        at_front=at_front,
    )
    return str(job.id)


def runs_ahead(rq_job_id: str) -> int | None:
    """How many queued jobs a worker takes before this one (None: it is not in a queue).

    A bulk job also waits for every interactive job, since workers take those first."""
    redis = get_redis()
    job = Job.fetch(rq_job_id, connection=redis) if Job.exists(rq_job_id, redis) else None
    if job is None:
        return None
    position = job.get_position()
    if position is None:
        return None
    if job.origin == queue_name(Priority.BULK):
        position += get_queue(Priority.INTERACTIVE).count
    return int(position)
