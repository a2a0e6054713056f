"""Rate limits per upstream: documented defaults, scalable for fast tests."""

from __future__ import annotations

import time

import requests

from tests.fixtures.sandbox import SandboxHandle


def _limit(sandbox: SandboxHandle, body: dict) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/ratelimits", json=body, timeout=10)
    assert response.status_code == 200, response.text


def test_cliniko_default_is_200_per_minute_per_key(sandbox: SandboxHandle) -> None:
    """cliniko.md §3: 200 requests per minute per user, then 429 + X-RateLimit-Reset (UNIX s)."""
    base, session = sandbox.cliniko()
    statuses = [session.get(f"{base}/taxes", timeout=10).status_code for _ in range(201)]
    assert statuses[:200] == [200] * 200
    assert statuses[200] == 429
    last = session.get(f"{base}/taxes", timeout=10)
    reset = int(last.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    other_base, other = sandbox.cliniko(1)  # another key has its own allowance
    assert other.get(f"{other_base}/taxes", timeout=10).status_code == 200


def test_cliniko_window_rolls_with_the_clock(sandbox: SandboxHandle) -> None:
    """cliniko.md §3: after the window passes, requests are allowed again."""
    _limit(sandbox, {"cliniko": {"limit": 2, "window_seconds": 60}})
    base, session = sandbox.cliniko()
    assert [session.get(f"{base}/taxes", timeout=10).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 60}, timeout=10)
    assert session.get(f"{base}/taxes", timeout=10).status_code == 200


def test_scaled_limit_for_fast_tests(sandbox: SandboxHandle) -> None:
    """Control plane: {"cliniko": {"limit", "window_seconds"}} scales the limit."""
    _limit(sandbox, {"cliniko": {"limit": 5, "window_seconds": 1}})
    base, session = sandbox.cliniko()
    statuses = [session.get(f"{base}/taxes", timeout=10).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_vaocherapp_unlimited_by_default_but_configurable(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §1: no published limit, so none by default; when set, Laravel-style 429."""
    base, session = sandbox.vaocherapp()
    assert all(
        session.get(f"{base}/accounts/my-account", timeout=10).status_code == 200
        for _ in range(250)
    )
    _limit(sandbox, {"vaocherapp": {"limit": 1, "window_seconds": 30}})
    session.get(f"{base}/accounts/my-account", timeout=10)
    throttled = session.get(f"{base}/accounts/my-account", timeout=10)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 30


def test_reckon_429_is_apim_shaped(sandbox: SandboxHandle) -> None:
    """Integration contract: Reckon's limit is off by default; its 429 is the APIM body."""
    _limit(sandbox, {"reckon": {"limit": 1, "window_seconds": 10}})
    url = f"{sandbox.url}/reckon/r1/v2/heartbeat"
    requests.get(url, timeout=10)
    throttled = requests.get(url, timeout=10)
    assert throttled.status_code == 429
    wait = int(throttled.headers["Retry-After"])
    assert throttled.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {wait} seconds.",
    }


def test_delete_restores_documented_limits(sandbox: SandboxHandle) -> None:
    """Control plane: DELETE /_sandbox/ratelimits puts back the documented defaults."""
    _limit(sandbox, {"cliniko": None, "vaocherapp": {"limit": 1, "window_seconds": 1}})
    requests.delete(f"{sandbox.url}/_sandbox/ratelimits", timeout=10)
    limits = requests.get(f"{sandbox.url}/_sandbox/ratelimits", timeout=10).json()["ratelimits"]
    assert limits["cliniko"] == {"limit": 200, "window_seconds": 60}
    assert limits["vaocherapp"] is None
