"""Agency admins manage people and roles; the audit log records it."""

from __future__ import annotations

from portal.extensions import db
from portal.models import AuditEvent, Membership, Role, User
from tests.fixtures.portal import csrf_token

HARBOUR = "/a/harbour"


def _user(email: str) -> User:
    return db.session.scalar(db.select(User).where(User.email == email))


def test_admin_adds_a_person_who_then_sees_only_their_clinics(demo, login, client, post):
    login("demo@example.com")
    coogee = demo["clinics"]["coogee-podiatry"]
    response = post(
        f"{HARBOUR}/users/new",
        {
            "name": "Casey New",
            "email": "casey@clinic.example",
            "password": "long-enough-secret",
            "role": Role.CLINIC_MANAGER,
            "clinics": [coogee.id],
        },
    )
    assert response.status_code == 303
    casey = _user("casey@clinic.example")
    assert [(m.clinic_id, m.role) for m in casey.memberships] == [(coogee.id, "clinic_manager")]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login("casey@clinic.example", "long-enough-secret")
    # One clinic: straight to it.
    assert client.get("/").headers["Location"] == "/c/coogee-podiatry/"
    assert client.get("/c/bondi-physio/").status_code == 404


def test_admin_changes_a_role_and_it_is_audited(demo, login, post):
    login("demo@example.com")
    viewer = _user("viewer@example.com")
    manly = demo["clinics"]["manly-allied"]
    bondi = demo["clinics"]["bondi-physio"]
    post(
        f"{HARBOUR}/users/{viewer.id}",
        {"role": Role.AGENCY_STAFF, "clinics": [bondi.id, manly.id]},
    )
    rows = db.session.scalars(db.select(Membership).where(Membership.user_id == viewer.id)).all()
    assert sorted((m.clinic_id, m.role) for m in rows) == sorted(
        [(bondi.id, "agency_staff"), (manly.id, "agency_staff")]
    )
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "user.set_access")
    ).one()
    assert event.target == "viewer@example.com"
    assert event.detail["role"] == "agency_staff"


def test_a_role_below_admin_needs_a_clinic(demo, login, post):
    login("demo@example.com")
    viewer = _user("viewer@example.com")
    response = post(f"{HARBOUR}/users/{viewer.id}", {"role": Role.VIEWER})
    assert "Choose at least one clinic" in response.get_data(as_text=True)


def test_clinics_of_another_agency_cannot_be_granted(demo, login, post):
    login("demo@example.com")
    viewer = _user("viewer@example.com")
    chatswood = demo["clinics"]["chatswood-physio"]
    response = post(
        f"{HARBOUR}/users/{viewer.id}", {"role": Role.VIEWER, "clinics": [chatswood.id]}
    )
    assert response.status_code == 200  # the form comes back with the error
    assert all(m.clinic_id != chatswood.id for m in _user("viewer@example.com").memberships)


def test_the_last_admin_cannot_step_down_or_be_removed(demo, login, post):
    login("demo@example.com")
    admin = _user("demo@example.com")
    bondi = demo["clinics"]["bondi-physio"]
    response = post(
        f"{HARBOUR}/users/{admin.id}",
        {"role": Role.VIEWER, "clinics": [bondi.id]},
        follow_redirects=True,
    )
    assert "at least one admin" in response.get_data(as_text=True)
    response = post(f"{HARBOUR}/users/{admin.id}/remove", follow_redirects=True)
    assert "at least one admin" in response.get_data(as_text=True)
    assert _user("demo@example.com").memberships[0].role == Role.AGENCY_ADMIN


def test_removing_a_person_ends_their_access(demo, login, client, post):
    login("demo@example.com")
    manager = _user("manager@example.com")
    assert post(f"{HARBOUR}/users/{manager.id}/remove").status_code == 303
    assert _user("manager@example.com").memberships == []
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login("manager@example.com")
    assert client.get("/c/bondi-physio/").status_code == 404


def test_people_of_another_agency_are_not_reachable(demo, login, client):
    login("other@example.com")
    harbour_user = _user("manager@example.com")
    assert client.get(f"/a/northside/users/{harbour_user.id}").status_code == 404


def test_audit_log_lists_the_agencys_events(demo, login, client):
    login("demo@example.com")
    page = client.get(f"{HARBOUR}/audit").get_data(as_text=True)
    assert "user.sign_in" in page
    assert "demo@example.com" in page
