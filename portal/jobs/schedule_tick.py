"""A one-minute tick on RQ's scheduler: marks runs whose worker died as interrupted, starts due
scheduled runs, stranded webhook intakes and the hourly connection checks, queues the problem
alerts (and hourly refresh), then queues the next tick.

Each tick's job id names its minute, so however many workers call `ensure_tick`, one tick per
minute is queued. Needs a worker started with `--with-scheduler`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from portal.extensions import db, get_redis
from portal.models import Clinic, JobRun
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.accounting.preview import sync_allowed
from portal.services.accounting.schedule import due_schedules, next_run_at, run_params
from portal.services.connections.records import clinics_with_linked_connections
from portal.services.vouchers.webhook_intake import INTAKE, clinics_with_stranded_deliveries

from .alerts import queue_problem_jobs
from .connection_checks import CHECK_KIND
from .queue import Priority, get_queue
from .runs import sweep_stale_runs
from .slots import wake_waiting_clinics
from .start import start_follow_up, start_run

log = logging.getLogger(__name__)
TICK = "portal.jobs.schedule_tick.tick"
INTERVAL = timedelta(minutes=1)
SYNC = "accounting.sync"
WAITING = timedelta(minutes=1)  # a delivery younger than this is still being queued normally


def _slot(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M")


def ensure_tick(now: datetime | None = None) -> str:
    """Queue the tick for the next minute (a no-op if that minute's tick is already queued)."""
    due = (now or utcnow()).replace(second=0, microsecond=0) + INTERVAL
    job_id = f"schedule-tick-{_slot(due)}"
    queue = get_queue(Priority.INTERACTIVE)  # short, and every schedule waits for it
    if queue.fetch_job(job_id) is None:
        queue.enqueue_at(due, TICK, job_id=job_id, result_ttl=600, failure_ttl=86400)
    return job_id


def start_due_runs(now: datetime) -> list[int]:
    """Start every due schedule's run and move its next run on; returns the runs started."""
    started = []
    for schedule in due_schedules(now):
        clinic = db.session.get(Clinic, schedule.clinic_id)
        assert clinic is not None
        schedule.next_run_at = next_run_at(schedule, clinic, now)
        if schedule.kind == SYNC and not sync_allowed(clinic):
            log.info("schedule %s skipped: the first preview is not approved", schedule.id)
            db.session.commit()
            continue
        try:
            run = start_run(clinic, None, schedule.kind, run_params(schedule))
        except DomainError as exc:  # e.g. the previous run is still going: skip this slot
            log.info("schedule %s skipped: %s", schedule.id, exc)
        else:
            schedule.last_run_id = run.id
            started.append(run.id)
        db.session.commit()
    return started


def start_waiting_intakes(now: datetime) -> list[int]:
    """Webhook deliveries stored while the queue was down wait for no one: start their intake."""
    started = []
    for clinic_id in clinics_with_stranded_deliveries(now - WAITING):
        clinic = db.session.get(Clinic, clinic_id)
        assert clinic is not None
        run = start_follow_up(clinic, INTAKE)  # None: one is going, it takes them
        if run is not None:
            started.append(run.id)
    return started


def start_connection_checks(now: datetime) -> list[int]:
    """Re-check each clinic's linked connections every CONNECTION_CHECK_MINUTES (no cron needed),
    each clinic at a minute of its own (its id modulo the interval) so checks spread out; a
    clinic checked by hand since the last turn is skipped. Bulk work: no person started them."""
    every = current_app.config["CONNECTION_CHECK_MINUTES"]
    if every <= 0:
        return []
    slot = int(now.timestamp() // 60) % every
    since = now - timedelta(minutes=every / 2)
    started = []
    for clinic in clinics_with_linked_connections():
        if clinic.id % every != slot or _checked_since(clinic, since):
            continue
        run = start_follow_up(clinic, CHECK_KIND.name)  # None: a check is going
        if run is not None:
            started.append(run.id)
    return started


def _checked_since(clinic: Clinic, since: datetime) -> bool:
    stmt = db.select(JobRun.id).where(
        JobRun.clinic_id == clinic.id, JobRun.kind == CHECK_KIND.name, JobRun.created_at >= since
    )
    return db.session.scalar(stmt.limit(1)) is not None


def tick() -> list[int]:
    """The RQ entry point: sweep dead runs, run what is due, pick up stranded deliveries, chain
    the next tick."""
    with current_app.app_context():
        try:
            # First, so a run whose worker died no longer holds its kind's one live slot.
            sweep_stale_runs()
            db.session.commit()
            wake_waiting_clinics(get_redis())  # in case a worker died holding a clinic's slot
            started = start_due_runs(utcnow()) + start_waiting_intakes(utcnow())
            started += start_connection_checks(utcnow())
            queue_problem_jobs(utcnow())  # alerts due now; the hourly state refresh
            return started
        finally:
            ensure_tick()
