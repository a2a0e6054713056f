"""Fair, prioritised queues: interactive before bulk, a per-clinic cap on workers, and a queued
run that says where it stands. Real Redis, real RQ burst workers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.extensions import db, get_redis
from portal.jobs.queue import Priority, get_queue, queue_name
from portal.jobs.runs import sweep_stale_runs
from portal.jobs.schedule_tick import tick
from portal.jobs.slots import ClinicSlot, holders, is_parked, requeue_parked
from portal.jobs.start import start_run
from portal.models import JobRun, JobStatus, User
from portal.models.types import utcnow
from tests.fixtures.portal import wait_for


def _fresh(run_id: int) -> JobRun:
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run is not None
    return run


@pytest.fixture
def clinics(demo):
    return demo["clinics"]


@pytest.fixture
def manager(demo):
    return db.session.scalar(db.select(User).where(User.email == "manager@example.com"))


def _origin(run: JobRun) -> str:
    job = get_queue(Priority.INTERACTIVE).fetch_job(run.rq_job_id) or get_queue(
        Priority.BULK
    ).fetch_job(run.rq_job_id)
    assert job is not None
    return job.origin


def test_scheduled_work_is_bulk_and_a_persons_run_is_interactive(clinics, manager):
    bondi = clinics["bondi-physio"]
    scheduled = start_run(bondi, None, "connections.check")
    person = start_run(clinics["manly-allied"], manager, "connections.check")
    webhook = start_run(bondi, None, "vouchers.intake")  # someone is waiting for that voucher
    assert _origin(scheduled) == queue_name(Priority.BULK)
    assert _origin(person) == queue_name(Priority.INTERACTIVE)
    assert _origin(webhook) == queue_name(Priority.INTERACTIVE)


def test_workers_take_interactive_work_before_bulk_work(clinics, manager, run_worker):
    bulk = [start_run(c, None, "connections.check") for c in list(clinics.values())[:3]]
    interactive = start_run(clinics["bondi-physio"], manager, "demo", {"items": 2, "delay": 0})
    run_worker()
    runs = [_fresh(r.id) for r in [*bulk, interactive]]
    assert all(r.status == JobStatus.SUCCEEDED for r in runs)
    first = min(runs, key=lambda r: r.started_at)
    assert first.id == interactive.id  # queued last, started first


def test_a_clinic_over_its_cap_waits_while_other_clinics_run(clinics, run_worker, client):
    bondi, manly = clinics["bondi-physio"], clinics["manly-allied"]
    # Another worker is running Bondi's scheduled sync: Bondi's one bulk slot is taken.
    elsewhere = ClinicSlot(get_redis(), bondi.id, 999_001, Priority.BULK)
    assert elsewhere.take()
    waiting = start_run(bondi, None, "connections.check")
    other = start_run(manly, None, "connections.check")
    demo_run = start_run(bondi, None, "demo", {"items": 1, "delay": 0})  # interactive: fits
    run_worker()
    assert _fresh(other.id).status == JobStatus.SUCCEEDED
    assert _fresh(demo_run.id).status == JobStatus.SUCCEEDED
    parked = _fresh(waiting.id)
    assert parked.status == JobStatus.QUEUED
    assert "this clinic already has its share of workers" in parked.message
    assert is_parked(get_redis(), bondi.id, waiting.id)
    # The holder ends: its clinic's parked runs go back to the front of their queue.
    requeue_parked(elsewhere.release())
    run_worker()
    assert _fresh(waiting.id).status == JobStatus.SUCCEEDED
    assert holders(get_redis(), bondi.id) == 0


def test_interactive_runs_share_the_clinics_total_cap(clinics, app, run_worker):
    bondi = clinics["bondi-physio"]
    held = [ClinicSlot(get_redis(), bondi.id, 999_000 + n, Priority.INTERACTIVE) for n in (1, 2)]
    assert all(s.take() for s in held)
    assert app.config["CLINIC_MAX_RUNS"] == 2
    run = start_run(bondi, None, "demo", {"items": 1, "delay": 0})
    run_worker()
    assert _fresh(run.id).status == JobStatus.QUEUED
    requeue_parked(held[0].release())
    run_worker()
    assert _fresh(run.id).status == JobStatus.SUCCEEDED


def test_a_parked_run_outlives_a_dead_holder(clinics, app, run_worker):
    """A worker that died holding the slot stops renewing it; its lease runs out and the tick
    queues the parked run again. Meanwhile the stale-run sweep leaves the parked run alone."""
    bondi = clinics["bondi-physio"]
    dead = ClinicSlot(get_redis(), bondi.id, 999_001, Priority.BULK)
    dead.lease = 0.2
    assert dead.take()
    waiting = start_run(bondi, None, "connections.check")
    run_worker()
    assert _fresh(waiting.id).status == JobStatus.QUEUED
    get_redis().delete(f"rq:job:{waiting.rq_job_id}")  # the parked attempt's record expired
    db.session.execute(
        db.update(JobRun)
        .where(JobRun.id == waiting.id)
        .values(created_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    sweep_stale_runs()
    db.session.commit()
    assert _fresh(waiting.id).status == JobStatus.QUEUED  # parked, not lost
    wait_for(lambda: holders(get_redis(), bondi.id) == 0, timeout=5)  # the lease ran out
    tick()
    run_worker()
    assert _fresh(waiting.id).status == JobStatus.SUCCEEDED


def test_a_queued_run_says_how_many_runs_are_ahead(clinics, login, client, manager):
    bondi = clinics["bondi-physio"]
    others = [c for slug, c in clinics.items() if slug != "bondi-physio"]
    for clinic in others:
        start_run(clinic, None, "connections.check")  # bulk, ahead of nothing interactive
    start_run(others[0], None, "demo", {"items": 1})  # interactive
    mine = start_run(bondi, None, "connections.check")
    login("manager@example.com")
    page = client.get(f"/c/bondi-physio/jobs/{mine.id}/progress").get_data(as_text=True)
    # Workers take the interactive run first, then the bulk runs queued before this one.
    assert f"Queued behind {len(others) + 1} runs." in page


def test_the_hourly_figures_refresh_waits_behind_peoples_work_and_alerts_do_not(app, demo):
    from datetime import UTC, datetime

    from rq.job import Job

    from portal.jobs.alerts import queue_problem_jobs

    queue_problem_jobs(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    alerts = Job.fetch("alerts-202611300900", connection=get_redis())
    refresh = Job.fetch("problems-refresh-2026113009", connection=get_redis())
    assert alerts.origin == queue_name(Priority.INTERACTIVE)
    assert refresh.origin == queue_name(Priority.BULK)
