"""The Redis connection and the RQ queue, bound to the app."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

EXECUTE = "portal.jobs.runner.execute_run"


def init_queue(app: Flask) -> None:
    url = app.config["REDIS_URL"]
    app.extensions["portal.redis"] = Redis.from_url(url) if url else None


def get_redis() -> Redis:
    redis: Redis | None = current_app.extensions.get("portal.redis")
    if redis is None:
        raise RuntimeError("REDIS_URL is not configured")
    return redis


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
