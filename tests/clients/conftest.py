"""Client-test fixtures: sandbox credentials, fast retry settings, control-plane helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from portal.clients.base import HttpOptions
from portal.clients.ratelimit import clear_shared_limiters

# Small timeouts and backoffs keep fault tests fast; the retry logic is the production one.
FAST = HttpOptions(
    connect_timeout=1.0,
    read_timeout=1.0,
    retries=3,
    backoff_base=0.02,
    backoff_cap=0.2,
    max_wait=10.0,
)


@pytest.fixture(autouse=True)
def _fresh_client_limiters() -> Iterator[None]:
    """Each test starts with empty client-side windows, as the re-seeded sandbox does."""
    clear_shared_limiters()
    yield
    clear_shared_limiters()


class Control:
    """The sandbox's control plane (/_sandbox), which real services do not have."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/_sandbox/{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=5)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def faults(self, upstream: str, **knobs: Any) -> None:
        self.post("faults", {"upstream": upstream, "seed": 7, **knobs})

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sandbox/faults", timeout=5)

    def requests(self, upstream: str) -> list[dict[str, Any]]:
        return list(self.get("requests", upstream=upstream)["requests"])


@pytest.fixture
def control(sandbox: Any) -> Control:
    return Control(sandbox.url)


@pytest.fixture
def state(control: Control) -> dict[str, Any]:
    return dict(control.get("state"))


@pytest.fixture
def clinic(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state["clinics"][0])
