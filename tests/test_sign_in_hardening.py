"""Sign-in that leaks nothing: the same password work for every email, and client addresses that
come from X-Forwarded-For only through the configured number of trusted proxies."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

import portal.services.accounts as accounts
from portal import create_app
from tests.fixtures.portal import csrf_token, dispose_engines


def _attempt(client, email: str, password: str, **headers: str):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
        headers=headers,
    )


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture
def hash_checks(monkeypatch) -> list[str]:
    """The method part of every password hash checked (e.g. 'scrypt:32768:8:1')."""
    seen: list[str] = []

    def spy(pwhash: str, password: str) -> bool:
        seen.append(pwhash.split("$", 1)[0])
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    return seen


def test_an_unknown_email_costs_the_same_hash_check_as_a_real_one(demo, client, hash_checks):
    assert _attempt(client, "manager@example.com", "wrong").status_code == 401
    assert _attempt(client, "no-such-person@example.com", "wrong").status_code == 401
    assert len(hash_checks) == 2
    assert hash_checks[0] == hash_checks[1]  # same method and cost factors


def test_forwarded_for_is_ignored_without_trusted_proxies(demo, client):
    # Each attempt claims another address; with no trusted proxy they all count against the
    # socket's address, so forging the header does not dodge the per-address limit.
    for n in range(20):
        _attempt(client, f"nobody{n}@example.com", "x", **{"X-Forwarded-For": f"10.9.0.{n}"})
    answer = _attempt(client, "manager@example.com", "demo", **{"X-Forwarded-For": "10.9.1.1"})
    assert "Too many failed sign-ins" in answer.get_data(as_text=True)


@pytest.fixture
def behind_router(database_url, redis_url, upstream_settings):
    proxied = create_app(
        {
            "MODE": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "TRUSTED_PROXIES": 1,
            **upstream_settings,
        }
    )
    yield proxied
    dispose_engines(proxied)


def test_one_trusted_proxy_keeps_each_client_apart(demo, behind_router):
    client = behind_router.test_client()
    with behind_router.app_context():
        for n in range(20):
            _attempt(client, f"nobody{n}@example.com", "x", **_from("203.0.113.7"))
        locked = _attempt(
            client, "viewer@example.com", "demo", **{"X-Forwarded-For": "203.0.113.7"}
        )
        other = _attempt(
            client, "manager@example.com", "demo", **{"X-Forwarded-For": "203.0.113.8"}
        )
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert other.status_code == 303  # everyone behind the router is not locked out
