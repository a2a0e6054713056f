"""Tenant isolation, checked by walking the URL map so new routes are covered automatically."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from werkzeug.exceptions import Forbidden, NotFound

from portal.extensions import db
from portal.models import (
    AccountingPreview,
    Invitation,
    JobRun,
    JobStatus,
    MismatchReport,
    ReconciliationBatch,
    ReconciliationRow,
    SyncRecord,
    User,
    Voucher,
)
from portal.models.types import utcnow
from portal.services.problems.kinds import ProblemKind
from portal.services.problems.record import raise_problem
from portal.tenancy import Capability, clinic_for
from tests.fixtures.portal import csrf_token

SKIP_METHODS = {"HEAD", "OPTIONS"}


def _sample_values(demo, target_clinic, target_agency) -> dict[str, object]:
    """One real object of the target tenant per URL argument; a new argument must be added here."""
    run = JobRun(clinic_id=target_clinic.id, kind="demo", status=JobStatus.SUCCEEDED, params={})
    db.session.add(run)
    db.session.commit()
    admin = db.session.scalar(db.select(User).where(User.email == "demo@example.com"))
    batch = ReconciliationBatch(clinic_id=target_clinic.id, filename="x.csv")
    db.session.add(batch)
    db.session.flush()
    row = ReconciliationRow(clinic_id=target_clinic.id, batch_id=batch.id, row_number=2)
    db.session.add(row)
    db.session.commit()
    report = MismatchReport(
        clinic_id=target_clinic.id, period_start=date(2025, 1, 1), period_end=date(2025, 1, 31)
    )
    db.session.add(report)
    voucher = Voucher(clinic_id=target_clinic.id, code="TENANT-ONLY-1")
    db.session.add(voucher)
    problem = raise_problem(
        target_clinic, ProblemKind.RUN_FAILED, "demo", title="Tenant-only problem", link="/"
    )
    preview = AccountingPreview(clinic_id=target_clinic.id, status="ready", summary={})
    db.session.add(preview)
    record = SyncRecord(
        clinic_id=target_clinic.id,
        kind="customer",
        cliniko_id="1",
        state="needs_decision",
        details={"candidates": [{"id": "x", "name": "X", "emails": []}]},
    )
    db.session.add(record)
    invitation = Invitation(
        agency_id=target_agency.id,
        email="tenant-only@example.com",
        name="Tenant Only",
        role="viewer",
        clinic_ids=[target_clinic.id],
        nonce="n",
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(invitation)
    db.session.commit()
    return {
        "invitation_id": invitation.id,
        "code": voucher.code,
        "report_id": report.id,
        "clinic": target_clinic.slug,
        "agency": target_agency.slug,
        "run_id": run.id,
        "kind": "demo",
        "user_id": admin.id,
        "provider": "cliniko",
        "batch_id": batch.id,
        "row_id": row.id,
        "problem_id": problem.id,
        "preview_id": preview.id,
        "record_id": record.id,
    }


def _scoped_rules(app: Flask, scope: str):
    for rule in app.url_map.iter_rules():
        if scope in rule.arguments:
            for method in sorted((rule.methods or set()) - SKIP_METHODS):
                yield rule, method


def _url(app: Flask, rule, values) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: add sample values for {missing} to _sample_values"
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})


def _request(client, method: str, url: str):
    token = csrf_token(client)
    headers = {"X-CSRFToken": token}
    return client.open(url, method=method, headers=headers, data={"csrf_token": token})


@pytest.mark.parametrize(
    ("email", "target_clinic"),
    [
        ("manager@example.com", "manly-allied"),  # same agency, a clinic they are not in
        ("viewer@example.com", "coogee-podiatry"),
        ("staff@example.com", "coogee-podiatry"),  # agency staff, clinic not assigned
        ("other@example.com", "bondi-physio"),  # admin of another agency
        ("demo@example.com", "chatswood-physio"),
    ],
)
def test_every_clinic_route_is_404_for_outsiders(app, demo, login, client, email, target_clinic):
    clinic = demo["clinics"][target_clinic]
    values = _sample_values(demo, clinic, clinic.agency)
    login(email)
    checked = 0
    for rule, method in _scoped_rules(app, "clinic"):
        response = _request(client, method, _url(app, rule, values))
        assert response.status_code == 404, f"{method} {rule.rule} gave {response.status_code}"
        checked += 1
    assert checked >= 8  # the walk really covered the clinic routes


def test_every_agency_route_is_404_for_other_agencies_and_403_for_non_admins(
    app, demo, login, client
):
    harbour = demo["agencies"]["harbour"]
    values = _sample_values(demo, harbour.clinics[0], harbour)
    manly = demo["clinics"]["manly-allied"]
    raise_problem(manly, ProblemKind.RUN_FAILED, "demo", title="Manly-only problem", link="/")
    db.session.commit()
    login("other@example.com")
    rules = list(_scoped_rules(app, "agency"))
    assert len(rules) >= 5
    for rule, method in rules:
        response = _request(client, method, _url(app, rule, values))
        assert response.status_code == 404, f"{method} {rule.rule} gave {response.status_code}"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login("manager@example.com")
    for rule, method in rules:
        response = _request(client, method, _url(app, rule, values))
        if rule.endpoint.startswith("agency_inbox."):
            # Every member has the agency inbox, narrowed to their clinics: the problem of a
            # clinic the manager (of Bondi) is not in is not there.
            assert response.status_code in (200, 303, 400), f"{method} {rule.rule}"
            assert "Manly-only problem" not in response.get_data(as_text=True)
            continue
        assert response.status_code == 403, f"{method} {rule.rule} gave {response.status_code}"


def test_anonymous_visitors_are_sent_to_sign_in(app, demo, client):
    clinic = demo["clinics"]["bondi-physio"]
    values = _sample_values(demo, clinic, clinic.agency)
    for rule, method in _scoped_rules(app, "clinic"):
        if method != "GET":
            continue
        response = client.get(_url(app, rule, values))
        assert response.status_code == 302, rule.rule
        assert "/login?next=" in response.headers["Location"]


def test_members_reach_their_clinic(demo, login, client):
    login("manager@example.com")
    assert client.get("/c/bondi-physio/").status_code == 200
    assert client.get("/c/bondi-physio/jobs/").status_code == 200


def test_viewer_may_look_but_not_act(demo, login, client, post):
    login("viewer@example.com")
    page = client.get("/c/bondi-physio/").get_data(as_text=True)
    assert "Start demo job" not in page
    response = post("/c/bondi-physio/jobs/start/demo", {"items": 3})
    assert response.status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(JobRun)) == 0


def test_another_clinics_run_is_404_even_by_its_id(demo, login, client):
    manly = demo["clinics"]["manly-allied"]
    run = JobRun(clinic_id=manly.id, kind="demo", status=JobStatus.SUCCEEDED, params={})
    db.session.add(run)
    db.session.commit()
    login("manager@example.com")
    # The run exists, but reached through the manager's own clinic it is not theirs.
    assert client.get(f"/c/bondi-physio/jobs/{run.id}").status_code == 404
    assert client.get(f"/c/manly-allied/jobs/{run.id}").status_code == 404


def test_clinic_switcher_lists_only_accessible_clinics(demo, login, client):
    login("staff@example.com")
    page = client.get("/c/bondi-physio/").get_data(as_text=True)
    assert 'aria-label="Switch clinic"' in page
    assert "Manly Allied Health" in page
    assert "Coogee Podiatry" not in page
    assert "Chatswood Physio" not in page


def test_clinic_for_is_404_to_outsiders_and_403_to_roles_without_the_capability(app, demo):
    viewer = db.session.scalar(db.select(User).where(User.email == "viewer@example.com"))
    assert clinic_for(viewer, "bondi-physio", Capability.VIEW).slug == "bondi-physio"
    with pytest.raises(Forbidden):
        clinic_for(viewer, "bondi-physio", Capability.MANAGE_CONNECTIONS)
    for slug in ("manly-allied", "chatswood-physio", "no-such-clinic", None):
        with pytest.raises(NotFound):
            clinic_for(viewer, slug, Capability.VIEW)
