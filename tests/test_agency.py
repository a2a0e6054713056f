"""Agency admins manage people and roles; the audit log records it."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Clinic, Membership, Role, User
from tests.fixtures.portal import csrf_token
from tests.onboarding_helpers import GOOD_PASSWORD, link_in_mail, path_of

HARBOUR = "/a/harbour"


def _user(email: str) -> User:
    return db.session.scalar(db.select(User).where(User.email == email))


def test_admin_invites_a_person_who_then_sees_only_their_clinics(
    app, demo, login, client, post, mailbox
):
    login("demo@example.com")
    coogee = demo["clinics"]["coogee-podiatry"]
    response = post(
        f"{HARBOUR}/users/new",
        {
            "name": "Casey New",
            "email": "casey@clinic.example",
            "role": Role.CLINIC_MANAGER,
            "clinics": [coogee.id],
        },
    )
    assert response.status_code == 303
    assert _user("casey@clinic.example") is None  # only once they accept
    link = link_in_mail(mailbox, "casey@clinic.example")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    casey = app.test_client()
    token = csrf_token(casey)
    answer = casey.post(
        path_of(link),
        data={
            "name": "Casey New",
            "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 303
    user = _user("casey@clinic.example")
    assert [(m.clinic_id, m.role) for m in user.memberships] == [(coogee.id, "clinic_manager")]
    # Signed in already; one clinic: straight to it.
    assert casey.get("/").headers["Location"] == "/c/coogee-podiatry/"
    assert casey.get("/c/bondi-physio/").status_code == 404


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
    response = post(f"{HARBOUR}/users/{admin.id}/remove", {"confirmed": "1"}, follow_redirects=True)
    assert "at least one admin" in response.get_data(as_text=True)
    assert _user("demo@example.com").memberships[0].role == Role.AGENCY_ADMIN


def test_removing_a_person_ends_their_access(demo, login, client, post):
    login("demo@example.com")
    manager = _user("manager@example.com")
    url = f"{HARBOUR}/users/{manager.id}/remove"
    asked = client.get(url).get_data(as_text=True)  # without JavaScript: a page that asks first
    assert "Yes, remove Morgan Manager" in asked
    assert post(url).status_code == 200  # a POST that is not the "yes" only asks again
    assert _user("manager@example.com").memberships != []
    assert post(url, {"confirmed": "1"}).status_code == 303
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
    page = client.get(f"{HARBOUR}/audit/").get_data(as_text=True)
    assert "Dana Admin signed in" in page
    assert "demo@example.com" in page


# ---- adding clinics ----------------------------------------------------------------------------
def _clinic_form(name="Randwick Rehab", slug="randwick-rehab", timezone="Australia/Perth"):
    return {"name": name, "slug": slug, "timezone": timezone}


def test_admin_adds_a_clinic_with_its_time_zone_and_it_is_audited(demo, login, client, post):
    login("demo@example.com")
    assert "Add a clinic" in client.get(f"{HARBOUR}/").get_data(as_text=True)
    response = post(f"{HARBOUR}/clinics/new", _clinic_form())
    assert response.status_code == 303
    assert response.headers["Location"] == "/c/randwick-rehab/connections/"
    clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == "randwick-rehab"))
    assert clinic.agency.slug == "harbour"
    assert clinic.timezone == "Australia/Perth"
    assert client.get("/c/randwick-rehab/").status_code == 200
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "clinic.add")).one()
    assert event.clinic_id == clinic.id
    assert event.detail == {
        "name": "Randwick Rehab",
        "slug": "randwick-rehab",
        "timezone": "Australia/Perth",
    }


@pytest.mark.parametrize(
    ("form", "says"),
    [
        (_clinic_form(slug="Randwick Rehab"), "lower-case letters"),
        (_clinic_form(slug="-randwick"), "lower-case letters"),
        (_clinic_form(slug="randwick--rehab"), "lower-case letters"),
        (_clinic_form(slug="r"), "lower-case letters"),
        (_clinic_form(slug="chatswood-physio"), "is taken"),  # another agency's: still unique
        (_clinic_form(timezone="Mars/Olympus"), "time zone"),
        (_clinic_form(name="   "), "name"),
    ],
)
def test_a_clinic_needs_a_good_unique_address_and_a_real_zone(demo, login, post, form, says):
    login("demo@example.com")
    before = db.session.scalar(db.select(db.func.count()).select_from(Clinic))
    response = post(f"{HARBOUR}/clinics/new", form)
    assert response.status_code == 200
    assert says in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Clinic)) == before


def test_only_agency_admins_add_clinics(demo, login, client, post):
    login("staff@example.com")
    assert client.get(f"{HARBOUR}/clinics/new").status_code == 403
    assert post(f"{HARBOUR}/clinics/new", _clinic_form()).status_code == 403
