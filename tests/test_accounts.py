"""Signing in: passwords, throttling, demo logins, CSRF and cookie settings."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db
from portal.models import AuditEvent, LoginAttempt
from tests.fixtures.portal import csrf_token, dispose_engines


def _attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_wrong_password_is_refused_and_recorded(demo, client):
    response = _attempt(client, "manager@example.com", "nope")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    attempts = db.session.scalars(db.select(LoginAttempt)).all()
    assert [(a.email, a.succeeded) for a in attempts] == [("manager@example.com", False)]


def test_email_is_matched_case_insensitively(demo, client):
    assert _attempt(client, "  Manager@Example.COM ", "demo").status_code == 303


def test_repeated_failures_lock_the_account_with_minutes_to_wait(demo, client):
    for _ in range(5):
        assert _attempt(client, "manager@example.com", "wrong").status_code == 401
    response = _attempt(client, "manager@example.com", "demo")  # right password, still locked
    assert response.status_code == 401
    assert re.search(r"Try again in 1[45] minutes", response.get_data(as_text=True))
    # Another account from the same address is not locked by these five.
    assert _attempt(client, "viewer@example.com", "demo").status_code == 303


def test_repeated_failures_from_one_address_lock_that_address(demo, client):
    for n in range(20):
        _attempt(client, f"nobody{n}@example.com", "x", address="203.0.113.9")
    response = _attempt(client, "manager@example.com", "demo", address="203.0.113.9")
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert (
        _attempt(client, "manager@example.com", "demo", address="198.51.100.1").status_code == 303
    )


def test_sign_in_is_audited(demo, login):
    login("manager@example.com")
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "user.sign_in" in actions


def test_login_redirects_only_to_local_paths(demo, client):
    token = csrf_token(client)
    data = {"email": "manager@example.com", "password": "demo", "csrf_token": token}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    data["csrf_token"] = csrf_token(client)
    response = client.post("/login?next=/c/bondi-physio/jobs/", data=data)
    assert response.headers["Location"] == "/c/bondi-physio/jobs/"


def test_post_without_csrf_token_is_rejected(demo, login, client):
    login("manager@example.com")
    response = client.post("/c/bondi-physio/jobs/start/demo", data={"items": 3})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_htmx_post_sends_the_token_as_a_header(demo, login, client):
    login("manager@example.com")
    token = csrf_token(client)
    response = client.post(
        "/c/bondi-physio/jobs/start/demo",
        data={"items": 3},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/c/bondi-physio/jobs/")


@pytest.fixture
def prod(database_url, redis_url):
    """The portal configured as in production (secure cookies, no demo logins)."""
    production_app = create_app(
        {
            "MODE": "production",
            "SECRET_KEY": "production-test-key",
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
        }
    )
    yield production_app
    dispose_engines(production_app)


def test_demo_logins_are_refused_outside_demo_mode(demo, prod):
    client = prod.test_client()
    with prod.app_context():
        # Secure cookies only travel over https, so the whole exchange uses an https base URL.
        page = client.get("/login", base_url="https://portal.example").get_data(as_text=True)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        response = client.post(
            "/login",
            data={"email": "demo@example.com", "password": "demo", "csrf_token": token},
            base_url="https://portal.example",
            headers={"Referer": "https://portal.example/login"},  # checked for https (SSL strict)
        )
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)


def test_production_cookies_are_secure(demo, prod):
    client = prod.test_client()
    with prod.app_context():
        response = client.get("/login", base_url="https://portal.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_its_secrets(redis_url):
    key = Fernet.generate_key().decode()
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"MODE": "production", "SECRET_KEY": "", "REDIS_URL": redis_url})
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        create_app(
            {"MODE": "production", "SECRET_KEY": "k", "ENCRYPTION_KEYS": "", "REDIS_URL": redis_url}
        )
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app(
            {"MODE": "production", "SECRET_KEY": "k", "ENCRYPTION_KEYS": key, "REDIS_URL": ""}
        )


def test_throttling_counts_failures_although_each_failed_request_rolls_back(demo, client):
    for _ in range(5):
        assert _attempt(client, "manager@example.com", "wrong").status_code == 401
    with db.engine.connect() as conn:  # committed by the sign-in service's own transaction
        failures = conn.scalar(
            db.select(db.func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.succeeded.is_(False))
        )
    assert failures == 5
    assert "Too many failed sign-ins" in _attempt(client, "manager@example.com", "demo").text
