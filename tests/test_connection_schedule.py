"""The connection checks run on the in-app scheduler (no cron): the worker's one-minute tick
starts each linked clinic's check once an hour, at a minute of its own, on the low-priority
queue that workers take from only when nothing else waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.extensions import db
from portal.jobs import schedule_tick
from portal.jobs.queue import Priority, get_queue
from portal.jobs.schedule_tick import start_connection_checks
from portal.models import Connection, ConnectionStatus, JobRun, JobStatus, User
from portal.services.connections.cliniko import link_cliniko

BASE = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # minute 0 of an hour


def _slot_of(clinic, every: int = 60) -> datetime:
    """The next minute from BASE at which `clinic`'s hourly check is due."""
    return BASE + timedelta(minutes=clinic.id % every)


def _link_bondi(demo, bondi_accounts):
    bondi = demo["clinics"]["bondi-physio"]
    admin = db.session.scalar(db.select(User).where(User.email == "demo@example.com"))
    link_cliniko(bondi, admin, bondi_accounts["cliniko"]["api_key"])
    db.session.commit()
    return bondi


def _checks() -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(JobRun).where(JobRun.kind == "connections.check")))


def test_each_linked_clinic_is_checked_hourly_at_its_own_minute(app, demo, bondi_accounts):
    bondi = _link_bondi(demo, bondi_accounts)
    assert start_connection_checks(_slot_of(bondi) + timedelta(minutes=1)) == []  # not its minute
    started = start_connection_checks(_slot_of(bondi))
    assert len(started) == 1
    [run] = _checks()
    assert run.clinic_id == bondi.id
    assert run.user_id is None
    # Queued as bulk work (no person started it), never ahead of people's runs.
    assert get_queue(Priority.BULK).count == 1
    assert get_queue(Priority.INTERACTIVE).count == 0
    # The same minute again (a second tick) starts nothing: the check is live or just ran.
    assert start_connection_checks(_slot_of(bondi)) == []
    # Unlinked clinics are never checked.
    for clinic in demo["clinics"].values():
        if clinic.id != bondi.id:
            assert start_connection_checks(_slot_of(clinic)) == []


def test_a_clinic_checked_by_hand_lately_waits_for_the_next_hour(app, demo, bondi_accounts):
    bondi = _link_bondi(demo, bondi_accounts)
    due = _slot_of(bondi)
    by_hand = JobRun(
        clinic_id=bondi.id,
        kind="connections.check",
        status=JobStatus.SUCCEEDED,
        params={},
        created_at=due - timedelta(minutes=10),
    )
    db.session.add(by_hand)
    db.session.commit()
    assert start_connection_checks(due) == []
    assert len(start_connection_checks(due + timedelta(hours=1))) == 1


def test_the_tick_starts_the_checks_and_a_worker_runs_them(
    app, demo, bondi_accounts, run_worker, monkeypatch
):
    bondi = _link_bondi(demo, bondi_accounts)
    db.session.execute(db.update(Connection).values(last_checked_at=None))
    db.session.commit()
    monkeypatch.setattr(schedule_tick, "utcnow", lambda: _slot_of(bondi))
    started = schedule_tick.tick()
    assert len(started) == 1
    run_worker()  # a worker listens to both queues
    [run] = _checks()
    assert run.status == JobStatus.SUCCEEDED
    conn = db.session.scalar(db.select(Connection).where(Connection.clinic_id == bondi.id))
    assert conn.status == ConnectionStatus.OK
    assert conn.last_checked_at is not None


def test_the_interval_is_a_setting_and_zero_turns_it_off(app, demo, bondi_accounts, monkeypatch):
    bondi = _link_bondi(demo, bondi_accounts)
    monkeypatch.setitem(app.config, "CONNECTION_CHECK_MINUTES", 0)
    assert start_connection_checks(_slot_of(bondi)) == []
    monkeypatch.setitem(app.config, "CONNECTION_CHECK_MINUTES", 15)
    slot = BASE + timedelta(minutes=bondi.id % 15)
    assert len(start_connection_checks(slot)) == 1


def test_flask_check_connections_still_queues_every_linked_clinic_now(app, demo, bondi_accounts):
    _link_bondi(demo, bondi_accounts)
    result = app.test_cli_runner().invoke(args=["check-connections"])
    assert "Queued checks for 1 clinic(s)" in result.output
    assert len(_checks()) == 1
