"""Invitations replace admin-set passwords: signed, 7 days, single-use links by email; the
person sets their own password and is signed in; an existing account joins only by accepting,
and the admin's page reveals nothing about accounts in other agencies."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invitation, Membership, Role, User
from portal.models.types import utcnow
from tests.onboarding_helpers import (
    GOOD_PASSWORD,
    Browser,
    link_in_mail,
    page,
    path_of,
)

HARBOUR = "/a/harbour"


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.email == email))


def _invitation(email: str) -> Invitation:
    db.session.expire_all()
    return db.session.scalars(
        db.select(Invitation).where(Invitation.email == email).order_by(Invitation.id.desc())
    ).first()


@pytest.fixture
def admin(app, demo):
    browser = Browser(app)
    assert browser.sign_in("demo@example.com").status_code == 303
    return browser


def _invite(admin, demo, email: str, name: str = "Casey New", role=Role.CLINIC_MANAGER):
    coogee = demo["clinics"]["coogee-podiatry"]
    data = {"name": name, "email": email, "role": role, "clinics": [coogee.id]}
    return admin.post(f"{HARBOUR}/users/new", data, follow_redirects=True)


def _flash(response) -> str:
    return re.search(r'class="flash flash-\w+">([^<]*)<', page(response)).group(1)


def _mail_text(mailbox, to: str) -> str:
    link = link_in_mail(mailbox, to)
    return mailbox.to(to)[-1].text.replace(link, "LINK").replace(to, "EMAIL")


def _accept(app, link: str, password: str = GOOD_PASSWORD, name: str = "Casey New"):
    person = Browser(app)
    answer = person.post(path_of(link), {"name": name, "password": password, "confirm": password})
    return person, answer


def test_an_invitation_is_emailed_and_accepting_it_sets_the_password_and_signs_in(
    app, demo, admin, mailbox
):
    shown = page(_invite(admin, demo, "casey@clinic.example"))
    assert "Invitation sent to casey@clinic.example" in shown
    [message] = mailbox.wait_for(1)
    assert message.to == ["casey@clinic.example"]
    assert "Dana Admin invited you to Harbour Health Partners" in message.subject
    assert "works once, for 7 days" in message.text
    link = link_in_mail(mailbox, "casey@clinic.example")
    assert link.startswith("http://localhost/welcome/")  # the request's host: no PUBLIC_BASE_URL
    people = page(admin.get(f"{HARBOUR}/users"))
    assert "casey@clinic.example" in people
    assert "pending" in people
    assert _user("casey@clinic.example") is None

    form = page(Browser(app).get(path_of(link)))
    assert "Join Harbour Health Partners" in form
    assert 'value="Casey New"' in form  # the name the admin typed, to correct if need be
    person, answer = _accept(app, link, name="Casey Newton")
    assert answer.status_code == 303
    assert person.signed_in()
    casey = _user("casey@clinic.example")
    assert casey.name == "Casey Newton"
    assert [(m.role, m.clinic.slug) for m in casey.memberships] == [
        ("clinic_manager", "coogee-podiatry")
    ]
    assert person.get("/").headers["Location"] == "/c/coogee-podiatry/"
    assert _invitation("casey@clinic.example").accepted_by_id == casey.id
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"user.invite", "user.accept_invitation", "user.sign_in"} <= actions
    # Single use: the link is dead now, and the invitation is no longer listed.
    again = Browser(app).get(path_of(link))
    assert again.status_code == 400
    assert "already accepted" in page(again)
    assert (
        "casey@clinic.example</td>"
        not in page(admin.get(f"{HARBOUR}/users")).split('id="invitations"')[1]
    )


def test_the_invited_person_is_held_to_the_password_rules(app, demo, admin, mailbox):
    _invite(admin, demo, "casey@clinic.example")
    link = link_in_mail(mailbox, "casey@clinic.example")
    _, weak = _accept(app, link, password="password123")
    assert weak.status_code == 200
    assert "at least 12 characters" in page(weak)
    person = Browser(app)
    differ = person.post(
        path_of(link), {"name": "C", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD + "x"}
    )
    assert "The two passwords differ" in page(differ)
    assert _user("casey@clinic.example") is None


def test_an_account_elsewhere_is_not_revealed_and_joins_only_when_its_owner_accepts(
    app, demo, admin, mailbox
):
    # Olly is Northside's admin; Harbour's admin types his email, then an unknown one.
    known = _flash(_invite(admin, demo, "other@example.com", name="Someone"))
    unknown = _flash(_invite(admin, demo, "nobody@clinic.example", name="Someone"))
    assert known == "Invitation sent to other@example.com. The link works once, for 7 days."
    assert known.replace("other@example.com", "X") == unknown.replace("nobody@clinic.example", "X")
    people = page(admin.get(f"{HARBOUR}/users"))
    assert "Olly Other" not in people  # no name shown
    olly = _user("other@example.com")
    assert {m.agency.slug for m in olly.memberships} == {"northside"}  # not attached yet
    # The two emails say the same (the account is not revealed to the mailbox's reader either).
    assert _mail_text(mailbox, "other@example.com") == _mail_text(mailbox, "nobody@clinic.example")

    link = path_of(link_in_mail(mailbox, "other@example.com"))
    olly_browser = Browser(app)
    first = page(olly_browser.get(link))
    assert "sign in with it to accept" in first
    signed_in = olly_browser.post(
        f"/login?next={link}", {"email": "other@example.com", "password": "demo"}
    )
    assert signed_in.headers["Location"] == link
    assert "Join Harbour Health Partners" in page(olly_browser.get(link))
    assert olly_browser.post(link).status_code == 303
    olly = _user("other@example.com")
    assert {m.agency.slug for m in olly.memberships} == {"northside", "harbour"}
    assert any(
        m.role == Role.AGENCY_ADMIN and m.agency.slug == "northside" for m in olly.memberships
    )


def test_someone_signed_in_as_another_person_cannot_accept(app, demo, admin, mailbox):
    _invite(admin, demo, "casey@clinic.example")
    link = path_of(link_in_mail(mailbox, "casey@clinic.example"))
    viewer = Browser(app)
    viewer.sign_in("viewer@example.com")
    assert "but you are signed in as viewer@example.com" in page(viewer.get(link))
    viewer.post(link)
    assert _invitation("casey@clinic.example").accepted_at is None
    assert _user("casey@clinic.example") is None


def test_a_person_already_in_the_agency_is_not_invited_again(app, demo, admin, mailbox):
    answer = page(_invite(admin, demo, "viewer@example.com"))
    assert "already has access to Harbour Health Partners" in answer
    assert mailbox.messages() == []


def test_resend_makes_a_new_link_and_retires_the_old_one(app, demo, admin, mailbox):
    _invite(admin, demo, "casey@clinic.example")
    old = path_of(link_in_mail(mailbox, "casey@clinic.example"))
    invitation = _invitation("casey@clinic.example")
    invitation.expires_at = utcnow() - timedelta(minutes=1)  # it had expired
    db.session.commit()
    assert "expired" in page(admin.get(f"{HARBOUR}/users"))
    assert "expired" in page(Browser(app).get(old))
    assert admin.post(f"{HARBOUR}/invitations/{invitation.id}/resend").status_code == 303
    new = path_of(link_in_mail(mailbox, "casey@clinic.example", count=2))
    assert new != old
    assert "newer invitation" in page(Browser(app).get(old))
    assert _invitation("casey@clinic.example").expires_at > utcnow() + timedelta(days=6)
    _, answer = _accept(app, new)
    assert answer.status_code == 303


def test_revoking_asks_for_confirmation_and_kills_the_link(app, demo, admin, mailbox):
    _invite(admin, demo, "casey@clinic.example")
    link = path_of(link_in_mail(mailbox, "casey@clinic.example"))
    invitation = _invitation("casey@clinic.example")
    confirm = admin.get(f"{HARBOUR}/invitations/{invitation.id}/revoke")
    assert "Revoke the invitation to casey@clinic.example?" in page(confirm)
    assert _invitation("casey@clinic.example").revoked_at is None  # asking changed nothing
    assert admin.post(f"{HARBOUR}/invitations/{invitation.id}/revoke").status_code == 303
    assert _invitation("casey@clinic.example").revoked_at is not None
    answer = Browser(app).get(link)
    assert answer.status_code == 400
    assert "withdrawn" in page(answer)
    assert "user.invite_revoke" in set(db.session.scalars(db.select(AuditEvent.action)))


def test_a_tampered_link_is_refused_plainly(app, demo):
    answer = Browser(app).get("/welcome/not-a-real-token")
    assert answer.status_code == 400
    assert "not valid" in page(answer)


def test_without_a_mail_server_nothing_is_saved(app, demo, admin, monkeypatch, mailbox):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    answer = page(_invite(admin, demo, "casey@clinic.example"))
    assert "Email is not configured" in answer
    assert _invitation("casey@clinic.example") is None


def test_an_admin_invitation_gives_every_clinic(app, demo, admin, mailbox):
    data = {"name": "Ada", "email": "ada@clinic.example", "role": Role.AGENCY_ADMIN}
    admin.post(f"{HARBOUR}/users/new", data)
    _, answer = _accept(app, link_in_mail(mailbox, "ada@clinic.example"), name="Ada")
    assert answer.status_code == 303
    ada = _user("ada@clinic.example")
    rows = db.session.scalars(db.select(Membership).where(Membership.user_id == ada.id)).all()
    assert [(m.role, m.clinic_id) for m in rows] == [("agency_admin", None)]
