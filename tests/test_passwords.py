"""The password rules: length, guessability (offline), personal details; admins are held to them."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Role, User
from portal.services.passwords import WeakPassword, check_new_password
from tests.fixtures.portal import csrf_token
from tests.onboarding_helpers import link_in_mail, path_of


@pytest.mark.parametrize(
    "password",
    ["password123", "password1234", "aaaaaaaaaaaaaaaa", "qwertyuiop123", "casey@clinic.example1"],
)
def test_short_common_or_personal_passwords_are_refused(password):
    with pytest.raises(WeakPassword):
        check_new_password(password, email="casey@clinic.example", name="Casey New")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "long-enough-secret", "ferry to manly at dawn " * 40],
)
def test_passphrases_are_accepted(password):
    check_new_password(password, email="casey@clinic.example", name="Casey New")


def test_adding_a_person_asks_no_password_and_they_are_held_to_the_rules(
    app, demo, login, post, mailbox
):
    """Nobody chooses another person's password: the form has no password field, and the
    invited person's own choice is held to the rules."""
    login("demo@example.com")
    form_page = post("/a/harbour/users/new", {}).get_data(as_text=True)
    assert 'type="password"' not in form_page
    coogee = demo["clinics"]["coogee-podiatry"]
    response = post(
        "/a/harbour/users/new",
        {
            "name": "Weak Pass",
            "email": "weak@clinic.example",
            "password": "password123",  # ignored: there is no such field
            "role": Role.CLINIC_MANAGER,
            "clinics": [coogee.id],
        },
    )
    assert response.status_code == 303
    link = link_in_mail(mailbox, "weak@clinic.example")
    post("/logout")
    invitee = app.test_client()
    answer = invitee.post(
        path_of(link),
        data={
            "name": "Weak Pass",
            "password": "password123",
            "confirm": "password123",
            "csrf_token": csrf_token(invitee),
        },
    )
    assert answer.status_code == 200
    assert "at least 12 characters" in answer.get_data(as_text=True)
    assert db.session.scalar(db.select(User).where(User.email == "weak@clinic.example")) is None
