"""Optional two-step sign-in (TOTP) for agency admins: enrol on /account with the secret and an
otpauth URI as text and a code to confirm; then sign-in asks for the code after the password;
turning it off needs a current code."""

from __future__ import annotations

import re
import time
from html import unescape

import pyotp
import pytest

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.onboarding_helpers import Browser, page


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.email == email))


def _enrol(app) -> tuple[Browser, str]:
    browser = Browser(app)
    browser.sign_in("demo@example.com")
    shown = page(browser.get("/account/two-step"))
    secret = re.search(r'id="totp-secret" readonly size="40" value="([A-Z2-7]+)"', shown).group(1)
    uri = unescape(re.search(r'id="totp-uri" readonly size="90" value="([^"]+)"', shown).group(1))
    assert uri.startswith("otpauth://totp/Clinic%20Portal:demo%40example.com?secret=" + secret)
    assert "copy.js" in shown
    answer = browser.post("/account/two-step", {"code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 303
    return browser, secret


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def test_only_agency_admins_are_offered_it(app, demo):
    manager = Browser(app)
    manager.sign_in("manager@example.com")
    assert "Two-step sign-in" not in page(manager.get("/account/"))
    assert manager.get("/account/two-step").headers["Location"] == "/account/"
    admin = Browser(app)
    admin.sign_in("demo@example.com")
    assert "Turn on two-step sign-in" in page(admin.get("/account/"))


def test_a_wrong_code_does_not_turn_it_on(app, demo):
    browser = Browser(app)
    browser.sign_in("demo@example.com")
    page(browser.get("/account/two-step"))
    answer = browser.post("/account/two-step", {"code": "000000"})
    assert answer.status_code == 400
    assert "does not match" in page(answer)
    assert not _user("demo@example.com").uses_totp


def test_sign_in_asks_for_the_code_after_the_password(app, demo):
    _, secret = _enrol(app)
    admin = _user("demo@example.com")
    assert admin.uses_totp
    assert secret not in (admin.totp_sealed_secret or "")  # encrypted at rest
    browser = Browser(app)
    first = browser.sign_in("demo@example.com")
    assert first.headers["Location"].startswith("/login/code")
    assert not browser.signed_in()  # the password alone is not enough
    wrong = browser.post("/login/code", {"code": "123456"})
    assert wrong.status_code == 401
    assert not browser.signed_in()
    code = _code(secret, 1)  # computed once: a step boundary may pass before the replay
    right = browser.post("/login/code", {"code": code})
    assert right.status_code == 303
    assert browser.signed_in()
    # The same code cannot be used twice.
    replay = Browser(app)
    replay.sign_in("demo@example.com")
    assert replay.post("/login/code", {"code": code}).status_code == 401
    assert "user.totp_enable" in set(db.session.scalars(db.select(AuditEvent.action)))


def test_the_code_step_needs_the_password_first(app, demo):
    _enrol(app)
    browser = Browser(app)
    assert browser.get("/login/code").headers["Location"] == "/login"
    assert browser.post("/login/code", {"code": "123456"}).headers["Location"] == "/login"


def test_wrong_codes_are_throttled_like_passwords(app, demo):
    _, secret = _enrol(app)
    browser = Browser(app)
    browser.sign_in("demo@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert browser.post("/login/code", {"code": "000000"}).status_code == 401
    locked = browser.post("/login/code", {"code": _code(secret, 1)})
    assert locked.status_code == 429
    assert "Too many" in page(locked)


@pytest.mark.parametrize("code", ["", "000000"])
def test_turning_it_off_needs_a_current_code(app, demo, code):
    browser, secret = _enrol(app)
    refused = browser.post("/account/two-step/off", {"code": code})
    assert refused.status_code == 400
    assert _user("demo@example.com").uses_totp
    assert browser.post("/account/two-step/off", {"code": _code(secret, 1)}).status_code == 303
    assert not _user("demo@example.com").uses_totp
    fresh = Browser(app)
    assert fresh.sign_in("demo@example.com").headers["Location"] == "/"


def test_rotating_the_encryption_key_keeps_the_secret_readable(app, demo):
    from cryptography.fernet import Fernet

    from portal.crypto import SecretBox, secret_box

    _, secret = _enrol(app)
    old_keys = app.config["ENCRYPTION_KEYS"]
    app.extensions["portal.secret_box"] = SecretBox(f"{Fernet.generate_key().decode()},{old_keys}")
    try:
        result = app.test_cli_runner().invoke(args=["rotate-encryption-key"])
        assert "1 two-step secret(s)" in result.output
        sealed = _user("demo@example.com").totp_sealed_secret
        assert secret_box().open(sealed)["totp"] == secret
    finally:
        app.extensions["portal.secret_box"] = SecretBox(old_keys)


def test_an_operator_can_reset_it_for_a_lost_device(app, demo):
    _enrol(app)
    result = app.test_cli_runner().invoke(args=["reset-two-step", "--email", "demo@example.com"])
    assert "Two-step sign-in is off" in result.output
    assert not _user("demo@example.com").uses_totp
    assert "user.totp_reset" in set(db.session.scalars(db.select(AuditEvent.action)))
    again = app.test_cli_runner().invoke(args=["reset-two-step", "--email", "demo@example.com"])
    assert again.exit_code != 0
