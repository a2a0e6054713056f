"""Problems: one record per fingerprint, regressions, auto-resolve where the work happens, the
inbox's tenancy and bulk actions (audited), its CSV, the state refresh and the agency dashboard."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from portal.clients import AuthError
from portal.extensions import db
from portal.jobs.kinds import get_kind
from portal.jobs.start import retry_run, start_run
from portal.models import (
    AuditEvent,
    Connection,
    ConnectionStatus,
    JobRun,
    JobStatus,
    Problem,
    ProblemState,
    Provider,
    RetryMode,
    Severity,
    User,
    Voucher,
)
from portal.models.types import utcnow
from portal.services.connections.records import record_check
from portal.services.problems.kinds import ProblemKind
from portal.services.problems.record import raise_problem, resolve_problem
from portal.services.problems.state import StateGroup, refresh_state_problems
from tests.fixtures.portal import csrf_token


def _problems() -> list[Problem]:
    db.session.expire_all()
    return list(db.session.scalars(select(Problem).order_by(Problem.id)))


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _raise(clinic, subject="demo", title="Demo job failed", kind=ProblemKind.RUN_FAILED):
    problem = raise_problem(clinic, kind, subject, title=title, link="/somewhere")
    db.session.commit()
    return problem


def test_the_same_problem_seen_again_updates_one_record(demo):
    bondi = demo["clinics"]["bondi-physio"]
    first = _raise(bondi)
    seen = first.last_seen
    again = _raise(bondi, title="Demo job failed again")
    [only] = _problems()
    assert again.id == first.id == only.id
    assert (only.count, only.title, only.state) == (2, "Demo job failed again", "open")
    assert only.last_seen >= seen
    assert only.first_seen <= seen
    # A partial run of the same job kind is the same record (one per clinic and job kind)...
    _raise(bondi, kind=ProblemKind.RUN_PARTIAL)
    assert [(p.kind, p.count) for p in _problems()] == [("run_partial", 3)]
    # ...but another clinic's, or another job kind's, is another problem.
    _raise(demo["clinics"]["manly-allied"])
    _raise(bondi, subject="accounting.sync")
    assert len(_problems()) == 3
    assert _actions().count("problem.open") == 3


def test_a_resolved_problem_seen_again_reopens_as_a_regression(demo):
    bondi = demo["clinics"]["bondi-physio"]
    problem = _raise(bondi)
    assert resolve_problem(bondi, ProblemKind.RUN_FAILED, "demo", "run #9 succeeded")
    db.session.commit()
    assert resolve_problem(bondi, ProblemKind.RUN_FAILED, "demo", "again") is None  # no-op
    [resolved] = _problems()
    assert resolved.state == ProblemState.RESOLVED
    assert resolved.resolution_note == "Resolved automatically: run #9 succeeded"
    _raise(bondi)
    [back] = _problems()
    assert back.id == problem.id
    assert (back.state, back.regression, back.generation) == ("open", True, 2)
    assert back.resolved_at is None
    assert _actions() == ["problem.open", "problem.resolve", "problem.reopen"]


def test_growing_more_severe_moves_the_generation_on(demo):
    bondi = demo["clinics"]["bondi-physio"]
    problem = raise_problem(bondi, ProblemKind.RUN_FAILED, "x", title="t", severity=Severity.INFO)
    raise_problem(bondi, ProblemKind.RUN_FAILED, "x", title="t", severity=Severity.INFO)
    assert problem.generation == 1
    raise_problem(bondi, ProblemKind.RUN_FAILED, "x", title="t", severity=Severity.CRITICAL)
    assert (problem.generation, problem.severity) == (2, "critical")
    raise_problem(bondi, ProblemKind.RUN_FAILED, "x", title="t", severity=Severity.WARNING)
    assert (problem.generation, problem.severity) == (2, "warning")


def test_a_run_raises_its_failure_and_a_later_success_resolves_it(demo, run_worker):
    bondi = demo["clinics"]["bondi-physio"]
    run = start_run(bondi, None, "demo", {"items": 11, "delay": 0})
    run_worker()  # item 11 fails on the first try: the run ends partial
    [problem] = _problems()
    assert (problem.kind, problem.severity, problem.state) == ("run_partial", "warning", "open")
    assert problem.title == f"Demo job finished with 1 failed item(s) (run #{run.id})"
    assert "Synthetic item 11: Synthetic upstream error" in problem.details
    assert problem.link == f"/c/bondi-physio/jobs/{run.id}"
    retry_run(db.session.get(JobRun, run.id), None, RetryMode.FAILED)
    run_worker()
    [problem] = _problems()
    assert problem.state == ProblemState.RESOLVED
    assert problem.resolution_note.startswith("Resolved automatically: run #")


def test_a_failed_run_of_a_critical_kind_is_critical(demo):
    from portal.services.problems.sources import note_run_outcome

    bondi = demo["clinics"]["bondi-physio"]
    run = JobRun(clinic_id=bondi.id, kind="accounting.sync", title="Accounting sync", params={})
    run.status, run.message = JobStatus.FAILED, "The run stopped: Reckon is down"
    db.session.add(run)
    db.session.flush()
    note_run_outcome(run, retrying=True)  # a retry is coming: not critical yet
    assert _problems()[0].severity == "warning"
    note_run_outcome(run, retrying=False)
    [problem] = _problems()
    assert (problem.severity, problem.generation) == ("critical", 2)
    assert problem.title == f"Accounting sync failed (run #{run.id})"


def test_an_interrupted_run_is_a_problem(demo):
    from portal.jobs.runs import sweep_stale_runs

    bondi = demo["clinics"]["bondi-physio"]
    old = utcnow() - timedelta(minutes=5)
    run = JobRun(clinic_id=bondi.id, kind="demo", title="Demo job", params={})
    run.status, run.heartbeat_at = JobStatus.RUNNING, old
    db.session.add(run)
    db.session.commit()
    assert sweep_stale_runs() == 1
    db.session.commit()
    [problem] = _problems()
    assert problem.kind == "run_interrupted"
    assert "was interrupted" in problem.title


def test_connection_health_raises_and_resolves_one_problem_per_provider(demo):
    bondi = demo["clinics"]["bondi-physio"]
    conn = Connection(clinic_id=bondi.id, provider=Provider.CLINIKO, details={})
    db.session.add(conn)
    db.session.flush()
    record_check(conn, AuthError("401"))
    db.session.commit()
    [problem] = _problems()
    assert (problem.kind, problem.severity) == ("connection_reconnect", "critical")
    assert problem.link == "/c/bondi-physio/connections/#conn-cliniko"
    record_check(conn, AuthError("401"))
    record_check(conn, None)
    db.session.commit()
    [problem] = _problems()
    assert (problem.state, problem.count) == ("resolved", 2)
    assert conn.status == ConnectionStatus.OK


def test_state_problems_follow_the_vouchers(demo):
    bondi = demo["clinics"]["bondi-physio"]
    long_ago = utcnow() - timedelta(hours=2)
    soon = utcnow() + timedelta(days=10)
    db.session.add_all(
        [
            Voucher(clinic_id=bondi.id, code="NOT-YET", created_at=long_ago, value_cents=5000),
            Voucher(clinic_id=bondi.id, code="JUST-NOW", value_cents=5000),  # within the grace
            Voucher(
                clinic_id=bondi.id,
                code="SOON",
                expires_at=soon,
                cliniko_billable_item_id="7",
                value_cents=5000,
                balance_cents=5000,
                cliniko_used_cents=2000,  # used in Cliniko, not redeemed in VaocherApp
            ),
        ]
    )
    db.session.commit()
    refresh_state_problems([bondi])
    db.session.commit()
    found = {p.kind: p for p in _problems()}
    assert set(found) == {"voucher_not_provisioned", "vouchers_expiring", "voucher_unredeemed_use"}
    assert found["voucher_not_provisioned"].title == "1 voucher not set up in Cliniko yet"
    assert found["vouchers_expiring"].title == "1 voucher expire within 30 days"
    assert "provisioned=no" in found["voucher_not_provisioned"].link
    bondi.expiry_window_days = 7  # the clinic's own window: nothing expires that soon
    voucher = db.session.scalar(select(Voucher).where(Voucher.code == "NOT-YET"))
    voucher.cliniko_billable_item_id = "8"
    db.session.commit()
    refresh_state_problems([bondi])
    db.session.commit()
    states = {p.kind: p.state for p in _problems()}
    assert states == {
        "voucher_not_provisioned": "resolved",
        "vouchers_expiring": "resolved",
        "voucher_unredeemed_use": "open",
    }


def test_a_refresh_counts_only_the_states_it_is_asked_for(demo):
    """After a run only the states its kind can change are counted again (an accounting sync
    never changes vouchers); a state outside those groups is neither raised nor resolved."""
    bondi = demo["clinics"]["bondi-physio"]
    long_ago = utcnow() - timedelta(hours=2)
    db.session.add(Voucher(clinic_id=bondi.id, code="NOT-YET", created_at=long_ago))
    db.session.commit()
    refresh_state_problems([bondi], {StateGroup.SYNC, StateGroup.PLANS})
    db.session.commit()
    assert _problems() == []
    refresh_state_problems([bondi], {StateGroup.VOUCHERS})
    db.session.commit()
    assert [p.kind for p in _problems()] == ["voucher_not_provisioned"]
    voucher = db.session.scalar(select(Voucher).where(Voucher.code == "NOT-YET"))
    voucher.cliniko_billable_item_id = "8"
    db.session.commit()
    refresh_state_problems([bondi], {StateGroup.SYNC})  # not its group: left as it was
    db.session.commit()
    assert [p.state for p in _problems()] == ["open"]
    refresh_state_problems([bondi])  # the hourly refresh: every group
    db.session.commit()
    assert [p.state for p in _problems()] == ["resolved"]
    assert get_kind("accounting.sync").changes == {StateGroup.SYNC}
    assert get_kind("vouchers.provision").changes == {StateGroup.VOUCHERS}


# The inbox ---------------------------------------------------------------------------------


def _world(demo):
    c = demo["clinics"]
    bondi = _raise(c["bondi-physio"], title="Bondi sync failed")
    manly = _raise(c["manly-allied"], title="Manly sync failed")
    coogee = _raise(c["coogee-podiatry"], title="Coogee sync failed")
    northside = next(iter(demo["agencies"]["northside"].clinics))
    _raise(northside, title="Northside sync failed")
    return bondi, manly, coogee


def test_staff_see_only_their_clinics_and_another_agency_nothing(demo, login, client, post):
    _world(demo)
    login("staff@example.com")
    page = client.get("/a/harbour/inbox/").get_data(as_text=True)
    assert "Bondi sync failed" in page
    assert "Manly sync failed" in page
    assert "Coogee sync failed" not in page
    assert "Northside sync failed" not in page
    post("/logout")
    login("other@example.com")
    assert client.get("/a/harbour/inbox/").status_code == 404
    page = client.get("/a/northside/inbox/").get_data(as_text=True)
    assert "Northside sync failed" in page
    assert "Bondi sync failed" not in page


def test_admin_sees_every_clinic_sorted_by_severity_then_age(demo, login, client):
    _, manly, coogee = _world(demo)
    manly.severity = Severity.CRITICAL
    coogee.opened_at = utcnow() - timedelta(days=3)
    db.session.commit()
    login("demo@example.com")
    page = client.get("/a/harbour/inbox/").get_data(as_text=True)
    order = [page.index(t) for t in ("Manly sync failed", "Coogee sync failed", "Bondi sync")]
    assert order == sorted(order)
    # Filters: clinic, kind, severity, age; the counts by clinic and kind link to the filter.
    one = client.get("/a/harbour/inbox/?clinic=coogee-podiatry").get_data(as_text=True)
    assert "Coogee sync failed" in one
    assert "Bondi sync failed</a>" not in one
    old = client.get("/a/harbour/inbox/?age=1d").get_data(as_text=True)
    assert "Coogee sync failed" in old
    assert "Manly sync failed</a>" not in old
    critical = client.get("/a/harbour/inbox/?severity=critical").get_data(as_text=True)
    assert "Manly sync failed" in critical
    assert "Coogee sync failed</a>" not in critical
    assert 'href="/a/harbour/inbox/?clinic=bondi-physio&amp;kind=run_failed"' in page


def test_a_clinic_inbox_for_its_manager_and_a_viewer_who_may_not_act(demo, login, client, post):
    bondi, _, _ = _world(demo)
    login("viewer@example.com")
    page = client.get("/c/bondi-physio/inbox/").get_data(as_text=True)
    assert "Bondi sync failed" in page
    assert "Manly sync failed" not in page
    assert 'name="ids"' not in page
    response = post("/c/bondi-physio/inbox/bulk", {"ids": bondi.id, "action": "snooze"})
    assert response.status_code == 403
    assert client.get("/c/manly-allied/inbox/").status_code == 404
    post("/logout")
    login("manager@example.com")
    page = client.get("/c/bondi-physio/inbox/").get_data(as_text=True)
    assert f'name="ids" value="{bondi.id}"' in page


def test_bulk_actions_confirm_first_and_are_audited(demo, login, client, post):
    bondi, manly, _ = _world(demo)
    staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
    login("staff@example.com")
    ids = [bondi.id, manly.id]
    confirm = post("/a/harbour/inbox/bulk", {"ids": ids, "action": "assign"})
    assert confirm.status_code == 200
    assert "Assign 2 problems?" in confirm.get_data(as_text=True)
    assert _problems()[0].assignee_id is None  # nothing happens before the confirmation
    done = post(
        "/a/harbour/inbox/bulk",
        {"ids": ids, "action": "assign", "confirmed": "1", "assignee": staff.id},
    )
    assert done.status_code == 303
    assert {(p.state, p.assignee_id) for p in _problems()[:2]} == {("assigned", staff.id)}
    post(
        "/a/harbour/inbox/bulk",
        {"ids": [bondi.id], "action": "snooze", "confirmed": "1", "days": 7},
    )
    assert _problems()[0].state == "snoozed"
    page = client.get("/a/harbour/inbox/").get_data(as_text=True)
    assert "Bondi sync failed" not in page  # out of the open view while snoozed
    assert "Bondi sync failed" in client.get("/a/harbour/inbox/?view=snoozed").get_data(
        as_text=True
    )
    refused = post(
        "/a/harbour/inbox/bulk", {"ids": [manly.id], "action": "resolve", "confirmed": "1"}
    )
    assert refused.status_code == 200  # the note is required: the form again
    assert _problems()[1].state == "assigned"
    post(
        "/a/harbour/inbox/bulk",
        {"ids": [manly.id], "action": "resolve", "confirmed": "1", "note": "Key re-entered"},
    )
    manly_now = _problems()[1]
    assert (manly_now.state, manly_now.resolved_by_id) == ("resolved", staff.id)
    assert manly_now.resolution_note == "Key re-entered"
    actions = [a for a in _actions() if a.startswith("problem.") and a != "problem.open"]
    assert actions == ["problem.assign", "problem.assign", "problem.snooze", "problem.resolve"]
    # Coogee's problem is not the staff member's to touch: silently not among the chosen.
    coogee = _problems()[2]
    post(
        "/a/harbour/inbox/bulk",
        {"ids": [coogee.id], "action": "snooze", "confirmed": "1", "days": 1},
    )
    assert _problems()[2].state == "open"


def test_csv_export_of_the_filtered_inbox(demo, login, client):
    _world(demo)
    login("demo@example.com")
    response = client.get("/a/harbour/inbox/problems.csv?clinic=bondi-physio")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:5] == ["clinic", "kind", "severity", "state", "title"]
    assert rows[1][:5] == ["Bondi Physio", "Run failed", "warning", "open", "Bondi sync failed"]
    assert rows[1][11] == "http://localhost/somewhere"
    assert len(rows) == 2


def test_dashboard_rows_by_attention_with_chips_to_the_inbox(demo, login, client):
    _world(demo)
    coogee = demo["clinics"]["coogee-podiatry"]
    _raise(coogee, subject="vouchers.provision", title="Provisioning failed")
    login("demo@example.com")
    page = client.get("/a/harbour/").get_data(as_text=True)
    assert page.index('id="clinic-coogee-podiatry"') < page.index('id="clinic-bondi-physio"')
    assert 'data-attention="2"' in page
    assert 'href="/a/harbour/inbox/?clinic=coogee-podiatry&amp;kind=run_failed"' in page
    assert "Never synced" in page


def test_inbox_pages_need_a_csrf_token_to_act(demo, login, client):
    bondi, _, _ = _world(demo)
    login("demo@example.com")
    csrf_token(client)
    response = client.post("/a/harbour/inbox/bulk", data={"ids": bondi.id, "action": "snooze"})
    assert response.status_code == 400


def test_the_expiry_window_is_a_clinic_setting(demo, login, client, post):
    login("manager@example.com")
    assert post("/c/bondi-physio/expiry-window", {"days": 14}).status_code == 303
    db.session.expire_all()
    assert demo["clinics"]["bondi-physio"].expiry_window_days == 14
    assert "clinic.expiry_window" in _actions()
    post("/c/bondi-physio/expiry-window", {"days": 0})
    page = client.get("/c/bondi-physio/").get_data(as_text=True)
    assert "Choose between 1 and 365 days." in page
    assert 'value="14"' in page
    post("/logout")
    login("viewer@example.com")
    assert post("/c/bondi-physio/expiry-window", {"days": 3}).status_code == 403
