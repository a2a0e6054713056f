"""Opt-in fault knobs per upstream, set through the control plane (issue 3: Faults)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle


def _faults(sandbox: SandboxHandle, **body: object) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=body, timeout=10)
    assert response.status_code == 200, response.text


def _statuses(sandbox: SandboxHandle, n: int) -> list[int]:
    base, session = sandbox.cliniko()
    return [session.get(f"{base}/taxes", timeout=10).status_code for _ in range(n)]


def test_latency_is_added(sandbox: SandboxHandle) -> None:
    """Faults: latency_ms delays every answer from that upstream."""
    _faults(sandbox, upstream="cliniko", latency_ms=200)
    base, session = sandbox.cliniko()
    started = time.monotonic()
    assert session.get(f"{base}/taxes", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_error_rate_answers_5xx_reproducibly(sandbox: SandboxHandle) -> None:
    """Faults: a share of 500/502/503 answers, the same sequence for the same seed."""
    _faults(sandbox, upstream="cliniko", error_rate=0.5, seed=7)
    first = _statuses(sandbox, 30)
    _faults(sandbox, upstream="cliniko", error_rate=0.5, seed=7)
    second = _statuses(sandbox, 30)
    assert first == second
    assert {500, 502, 503} & set(first)
    assert 200 in first
    assert set(first) <= {200, 500, 502, 503}


def test_error_statuses_can_be_chosen(sandbox: SandboxHandle) -> None:
    """Faults: error_statuses picks which 5xx are answered."""
    _faults(sandbox, upstream="cliniko", error_rate=1, error_statuses=[502])
    assert set(_statuses(sandbox, 5)) == {502}


def test_burst_429_then_normal(sandbox: SandboxHandle) -> None:
    """Faults: burst_429 = n answers the next n requests with the upstream's own 429."""
    _faults(sandbox, upstream="cliniko", burst_429=3)
    base, session = sandbox.cliniko()
    responses = [session.get(f"{base}/taxes", timeout=10) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert int(responses[0].headers["X-RateLimit-Reset"]) >= int(time.time())


def test_hang_outlasts_the_client_timeout(sandbox: SandboxHandle) -> None:
    """Faults: hang_rate/hang_seconds make a request hang past the client's timeout."""
    _faults(sandbox, upstream="vaocherapp", hang_rate=1, hang_seconds=0.6)
    base, session = sandbox.vaocherapp()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(f"{base}/accounts/my-account", timeout=0.2)


def test_drop_closes_the_connection(sandbox: SandboxHandle) -> None:
    """Faults: drop_rate closes the socket without any response."""
    _faults(sandbox, upstream="vaocherapp", drop_rate=1)
    base, session = sandbox.vaocherapp()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{base}/accounts/my-account", timeout=5)
    assert sandbox.requests_log("vaocherapp")[-1]["fault"] == "drop"


def test_outage_until_cleared(sandbox: SandboxHandle) -> None:
    """Faults: outage=true answers 503 until DELETE /_sandbox/faults."""
    _faults(sandbox, upstream="cliniko", outage=True)
    assert set(_statuses(sandbox, 3)) == {503}
    assert requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10).status_code == 204
    assert set(_statuses(sandbox, 3)) == {200}


def test_outage_window_ends_with_the_clock(sandbox: SandboxHandle) -> None:
    """Faults: outage_seconds is a window on the sandbox clock."""
    _faults(sandbox, upstream="cliniko", outage_seconds=60)
    assert _statuses(sandbox, 1) == [503]
    requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 61}, timeout=10)
    assert _statuses(sandbox, 1) == [200]


def test_faults_are_per_upstream_and_spare_the_control_plane(sandbox: SandboxHandle) -> None:
    """Faults: only the named upstream is affected; /_sandbox/ is never faulted."""
    _faults(sandbox, upstream="cliniko", outage=True)
    base, session = sandbox.vaocherapp()
    assert session.get(f"{base}/accounts/my-account", timeout=10).status_code == 200
    assert requests.get(f"{sandbox.url}/_sandbox/state", timeout=10).status_code == 200


def test_faults_apply_to_reckon_by_prefix(sandbox: SandboxHandle) -> None:
    """Integration contract: the generic middleware covers /reckon/ and /reckon-identity/."""
    _faults(sandbox, upstream="reckon", outage=True)
    _faults(sandbox, upstream="reckon-identity", error_rate=1, error_statuses=[500])
    assert requests.get(f"{sandbox.url}/reckon/r1/v2/heartbeat", timeout=10).status_code == 503
    token = requests.post(f"{sandbox.url}/reckon-identity/connect/token", timeout=10)
    assert token.status_code == 500


def test_reset_clears_faults(sandbox: SandboxHandle) -> None:
    """Faults are opt-in: POST /_sandbox/reset restores documented behaviour."""
    _faults(sandbox, upstream="cliniko", outage=True)
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"seed": 1}, timeout=10)
    assert _statuses(sandbox, 1) == [200]
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json()["faults"] == {}


def test_bad_fault_settings_are_refused(sandbox: SandboxHandle) -> None:
    """Control plane: unknown upstream or a rate outside 0..1 is a 400."""
    for body in ({"upstream": "xero"}, {"upstream": "cliniko", "error_rate": 2}):
        response = requests.post(f"{sandbox.url}/_sandbox/faults", json=body, timeout=10)
        assert response.status_code == 400
