"""The password rules: length, guessability (offline), personal details; admins are held to them."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Role, User
from portal.services.passwords import WeakPassword, check_new_password


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


def test_an_admin_cannot_give_a_new_person_a_weak_password(demo, login, post):
    login("demo@example.com")
    coogee = demo["clinics"]["coogee-podiatry"]
    response = post(
        "/a/harbour/users/new",
        {
            "name": "Weak Pass",
            "email": "weak@clinic.example",
            "password": "password123",
            "role": Role.CLINIC_MANAGER,
            "clinics": [coogee.id],
        },
    )
    assert response.status_code in (200, 303, 400)
    assert db.session.scalar(db.select(User).where(User.email == "weak@clinic.example")) is None
