"""A person changes their own password (the current one first; every other session ends), and
resets a forgotten one by email (signed, single-use, an hour; the same answer whether or not the
email has an account; throttled like sign-ins); a new password from a link ends every session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import AuditEvent, LoginAttempt, User
from portal.services.onboarding import links
from portal.services.onboarding.links import Purpose
from tests.onboarding_helpers import (
    GOOD_PASSWORD,
    OTHER_PASSWORD,
    Browser,
    link_in_mail,
    page,
    path_of,
)


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.email == email))


def _actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def _change(browser: Browser, current: str, new: str, confirm: str | None = None):
    data = {"current": current, "password": new, "confirm": confirm or new}
    return browser.post("/account/password", data)


# ---- change on /account ------------------------------------------------------------------------
def test_changing_the_password_keeps_this_session_and_ends_the_others(app, demo):
    here, elsewhere = Browser(app), Browser(app)
    here.sign_in("manager@example.com")
    elsewhere.sign_in("manager@example.com")
    assert "Change password" in page(here.get("/account/"))
    answer = _change(here, "demo", GOOD_PASSWORD)
    assert answer.status_code == 303
    assert here.signed_in()
    assert not elsewhere.signed_in()
    assert check_password_hash(_user("manager@example.com").password_hash, GOOD_PASSWORD)
    assert "user.change_password" in _actions()
    fresh = Browser(app)
    assert fresh.sign_in("manager@example.com", "demo").status_code == 401
    assert fresh.sign_in("manager@example.com", GOOD_PASSWORD).status_code == 303


def test_a_wrong_current_password_is_refused_and_counted_as_a_failed_sign_in(app, demo):
    browser = Browser(app)
    browser.sign_in("manager@example.com")
    answer = _change(browser, "not my password", GOOD_PASSWORD)
    assert answer.status_code == 400
    assert "current password is not right" in page(answer)
    failed = db.session.scalars(
        db.select(LoginAttempt).where(LoginAttempt.succeeded.is_(False))
    ).all()
    assert [a.email for a in failed] == ["manager@example.com"]
    assert check_password_hash(_user("manager@example.com").password_hash, "demo")


@pytest.mark.parametrize(
    ("new", "confirm", "says"),
    [
        ("password123", None, "at least 12 characters"),
        ("qwertyuiop123456", None, "Add another word"),
        (GOOD_PASSWORD, OTHER_PASSWORD, "The two passwords differ"),
    ],
)
def test_a_new_password_is_held_to_the_rules(app, demo, new, confirm, says):
    browser = Browser(app)
    browser.sign_in("manager@example.com")
    answer = _change(browser, "demo", new, confirm)
    assert answer.status_code == 400
    assert says in page(answer)
    assert browser.signed_in()
    assert check_password_hash(_user("manager@example.com").password_hash, "demo")


# ---- forgotten -----------------------------------------------------------------------------------
def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(
    app, demo, mailbox, run_worker
):
    login_page = page(Browser(app).get("/login"))
    assert "Forgot your password?" in login_page
    known = Browser(app).post("/forgot-password", {"email": "manager@example.com"})
    unknown = Browser(app).post("/forgot-password", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    run_worker()  # the reset email goes from the worker: the answer took the same path
    [message] = mailbox.wait_for(1)
    assert message.to == ["manager@example.com"]
    assert "within 1 hour" in message.text
    assert mailbox.to("nobody@example.com") == []


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    app, demo, mailbox, run_worker
):
    signed_in = Browser(app)
    signed_in.sign_in("manager@example.com")
    Browser(app).post("/forgot-password", {"email": "Manager@Example.com "})
    run_worker()
    link = path_of(link_in_mail(mailbox, "manager@example.com"))
    person = Browser(app)
    assert "Choose a new password" in page(person.get(link))
    weak = person.post(link, {"password": "password123", "confirm": "password123"})
    assert "at least 12 characters" in page(weak)
    done = person.post(link, {"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert done.headers["Location"] == "/login"
    assert not signed_in.signed_in()
    assert person.sign_in("manager@example.com", GOOD_PASSWORD).status_code == 303
    again = Browser(app).get(link)
    assert again.status_code == 400
    assert "already used" in page(again)
    assert {"user.reset_requested", "user.reset_password"} <= set(_actions())


def test_a_reset_link_expires_after_an_hour(app, demo, mailbox, run_worker, monkeypatch):
    Browser(app).post("/forgot-password", {"email": "manager@example.com"})
    run_worker()
    link = path_of(link_in_mail(mailbox, "manager@example.com"))
    monkeypatch.setitem(links.LIFETIMES, Purpose.RESET, timedelta(seconds=-1))  # an hour later
    answer = Browser(app).get(link)
    assert answer.status_code == 400
    assert "expired" in page(answer)


def test_reset_requests_are_throttled_like_sign_ins(app, demo, mailbox):
    browser = Browser(app)
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert browser.post("/forgot-password", {"email": "ghost@example.com"}).status_code == 303
    throttled = browser.post("/forgot-password", {"email": "ghost@example.com"})
    assert throttled.status_code == 429
    assert "Too many" in page(throttled)
    # Another email from the same address is still served (until the per-address limit).
    assert browser.post("/forgot-password", {"email": "other@example.com"}).status_code == 303


def test_a_deactivated_person_gets_no_reset_link(app, demo, mailbox, run_worker):
    user = _user("viewer@example.com")
    user.active = False
    db.session.commit()
    Browser(app).post("/forgot-password", {"email": "viewer@example.com"})
    run_worker()
    assert mailbox.messages() == []


def test_a_link_for_one_purpose_does_not_work_for_another(app, demo):
    user = _user("manager@example.com")
    from portal.services.onboarding.credentials import password_link

    with app.test_request_context():
        reset = path_of(password_link(user, Purpose.RESET, "http://portal.example"))
    setup = reset.replace("/reset-password/", "/set-password/")
    assert Browser(app).get(setup).status_code == 400
    assert Browser(app).get(reset).status_code == 200
