"""Problem upkeep on the worker, queued by the one-minute tick: wake ended snoozes and send the
alerts that are due (every minute), and refresh the state problems of every clinic (hourly)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Clinic
from portal.services.problems.alerts import send_due_alerts
from portal.services.problems.state import refresh_state_problems
from portal.services.problems.workflow import wake_snoozed

from .queue import Priority, get_queue

SEND_ALERTS = "portal.jobs.alerts.send_alerts"
REFRESH_PROBLEMS = "portal.jobs.alerts.refresh_problems"


def send_alerts() -> str:
    """The RQ entry point: snoozes that ran out come back, then due alerts and digests go out."""
    with current_app.app_context():
        wake_snoozed()
        db.session.commit()
        sent = send_due_alerts()
        return f"{sent.immediate} alert(s) and {sent.digests} digest(s) sent"


def refresh_problems() -> int:
    """The RQ entry point: raise and resolve every clinic's state problems; how many clinics."""
    with current_app.app_context():
        clinics = list(db.session.scalars(select(Clinic)))
        refresh_state_problems(clinics)
        db.session.commit()
        return len(clinics)


def queue_problem_jobs(now: datetime) -> None:
    """Called by the tick: alerts every minute, the state refresh once an hour (job ids name the
    minute and the hour, so a second tick in the same minute queues nothing twice)."""
    alerts = get_queue(Priority.INTERACTIVE)  # a critical problem is mailed within the minute
    minute = f"alerts-{now:%Y%m%d%H%M}"
    if alerts.fetch_job(minute) is None:
        alerts.enqueue(SEND_ALERTS, job_id=minute, result_ttl=600, failure_ttl=86400)
    refresh = get_queue(Priority.BULK)  # every clinic's figures: waits behind people's work
    hour = f"problems-refresh-{now:%Y%m%d%H}"
    if now.minute == 0 and refresh.fetch_job(hour) is None:
        refresh.enqueue(REFRESH_PROBLEMS, job_id=hour, result_ttl=3600, failure_ttl=86400)
