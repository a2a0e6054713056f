"""Alerts by email through a real SMTP server: immediate ones once per state, one digest per
person at their local time, role defaults, the settings page, the tick and `flask send-digests`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.jobs.alerts import queue_problem_jobs
from portal.models import AlertPreference, ProblemMailing, Severity, User
from portal.models.types import utcnow
from portal.services.problems.alerts import next_digest_at, preference_for, send_due_alerts
from portal.services.problems.kinds import ProblemKind
from portal.services.problems.record import raise_problem, resolve_problem

BONDI_PEOPLE = {"demo@example.com", "staff@example.com", "manager@example.com"}


def _critical(clinic, title="Accounting sync failed (run #1)"):
    problem = raise_problem(
        clinic,
        ProblemKind.RUN_FAILED,
        "accounting.sync",
        title=title,
        link=f"/c/{clinic.slug}/jobs/1",
        severity=Severity.CRITICAL,
    )
    db.session.commit()
    return problem


def _recipients(messages) -> list[str]:
    return sorted(to for m in messages for to in m.to)


def test_a_critical_problem_is_mailed_at_once_to_each_person_once(app, demo, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.com")
    bondi = demo["clinics"]["bondi-physio"]
    _critical(bondi)
    assert send_due_alerts().immediate == 3
    messages = mailbox.wait_for(3)
    # The agency admin, the staff member assigned to Bondi and its manager; not its viewer, not
    # Coogee's people, not another agency's.
    assert set(_recipients(messages)) == BONDI_PEOPLE
    message = messages[0]
    assert message.subject == "[Critical] Bondi Physio: Accounting sync failed (run #1)"
    assert "https://portal.example.com/c/bondi-physio/jobs/1" in message.text
    assert "https://portal.example.com/a/harbour/inbox/" in message.text
    assert send_due_alerts().immediate == 0  # never twice in the same state
    # Seen again while open: the same state, nothing new.
    _critical(bondi)
    assert send_due_alerts().immediate == 0
    # Resolved, then back: a new state (a regression), mailed again.
    resolve_problem(bondi, ProblemKind.RUN_FAILED, "accounting.sync", "a run succeeded")
    _critical(bondi)
    assert send_due_alerts().immediate == 3
    assert len(mailbox.wait_for(6)) == 6
    assert db.session.scalar(select(db.func.count()).select_from(ProblemMailing)) == 6


def test_one_digest_per_person_at_their_time_with_links(app, demo, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.com")
    c = demo["clinics"]
    now = utcnow()
    assert send_due_alerts(now).digests == 0  # makes everyone's settings: first digest is next
    prefs = {p.user.email: p for p in db.session.scalars(select(AlertPreference))}
    manager = prefs["manager@example.com"]
    assert manager.timezone == "Australia/Sydney"
    assert manager.digest_time == "08:00"
    assert manager.next_digest_at > now
    assert prefs["viewer@example.com"].warning_mode == "off"  # viewers hear nothing by default
    raise_problem(
        c["bondi-physio"],
        ProblemKind.ROWS_UNKNOWN,
        "export:abc",
        title="3 row(s) of InvoiceItems.csv have a voucher code VaocherApp does not know",
        link="/c/bondi-physio/reconciliation/1",
    )
    raise_problem(
        c["coogee-podiatry"], ProblemKind.RUN_PARTIAL, "demo", title="Demo job partly failed"
    )
    _critical(c["bondi-physio"])  # mailed at once, so not in the digest
    db.session.commit()
    send_due_alerts(now)
    mailbox.clear()
    due = max(p.next_digest_at for p in prefs.values()) + timedelta(minutes=1)
    sent = send_due_alerts(due, immediate=False)
    messages = mailbox.wait_for(sent.digests)
    by_person = {m.to[0]: m for m in messages}
    assert set(by_person) == {"demo@example.com", "staff@example.com", "manager@example.com"}
    admin = by_person["demo@example.com"]
    assert admin.subject == "Clinic Portal digest: 2 problems need attention"
    assert "Bondi Physio (1)" in admin.text
    assert "Coogee Podiatry (1)" in admin.text
    assert "https://portal.example.com/c/bondi-physio/reconciliation/1" in admin.text
    assert "Accounting sync failed" not in admin.text
    assert "Coogee" not in by_person["manager@example.com"].text
    # The next digest is a day later, and nothing already digested comes again.
    assert send_due_alerts(due, immediate=False).digests == 0
    later = due + timedelta(days=1)
    assert send_due_alerts(later, immediate=False).digests == 0


def test_digest_time_is_local_to_the_person(app, demo):
    user = db.session.scalar(select(User).where(User.email == "manager@example.com"))
    pref = preference_for(user)
    pref.timezone, pref.digest_time = "Australia/Perth", "07:30"
    from datetime import UTC, datetime

    after = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Perth
    assert next_digest_at(pref, after) == datetime(2026, 6, 1, 23, 30, tzinfo=UTC)


def test_alert_settings_page_saves_choices(app, demo, login, client, post, mailbox):
    login("manager@example.com")
    page = client.get("/alerts/").get_data(as_text=True)
    assert "Alert settings" in page
    response = post(
        "/alerts/",
        {
            "timezone": "Australia/Perth",
            "digest_time": "06:45",
            "critical_mode": "off",
            "warning_mode": "digest",
            "info_mode": "off",
            "kind-run_failed": "immediate",
        },
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "manager@example.com"))
    pref = db.session.scalar(select(AlertPreference).where(AlertPreference.user_id == user.id))
    assert (pref.timezone, pref.digest_time, pref.critical_mode) == (
        "Australia/Perth",
        "06:45",
        "off",
    )
    assert pref.kind_modes == {"run_failed": "immediate"}
    bad = post("/alerts/", {"timezone": "Mars/Olympus", "digest_time": "25:00"})
    assert "Choose a time zone." in bad.get_data(as_text=True)
    # Critical is off for them, but run failures are "immediately" by kind.
    _critical(demo["clinics"]["bondi-physio"])
    raise_problem(
        demo["clinics"]["bondi-physio"],
        ProblemKind.CONNECTION_FAILING,
        "reckon",
        title="Reckon One is not answering",
    )
    db.session.commit()
    send_due_alerts()
    subjects = [m.subject for m in mailbox.wait_for(1) if "manager@example.com" in m.to]
    assert subjects == ["[Critical] Bondi Physio: Accounting sync failed (run #1)"]


def test_the_tick_queues_the_alerts_job_and_the_worker_sends(app, demo, mailbox, run_worker):
    _critical(demo["clinics"]["bondi-physio"])
    queue_problem_jobs(utcnow())
    queue_problem_jobs(utcnow())  # the same minute: queued once
    run_worker()
    assert set(_recipients(mailbox.wait_for(3))) == BONDI_PEOPLE


def test_flask_send_digests_sends_due_digests_now(app, demo, mailbox):
    bondi = demo["clinics"]["bondi-physio"]
    raise_problem(bondi, ProblemKind.MISMATCH, "books", title="2 difference(s) between books")
    for user in db.session.scalars(select(User)):
        preference_for(user).next_digest_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    assert "3 digest(s)" in result.output
    assert len(mailbox.wait_for(3)) == 3
    again = app.test_cli_runner().invoke(args=["send-digests"])
    assert "0 digest(s)" in again.output
