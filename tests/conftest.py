"""Fixtures shared by the whole suite; each area's fixtures live in tests/fixtures/."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.portal",
    "tests.fixtures.connections",
    "tests.fixtures.mail",
]

_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that reaches past loopback: real upstream services are never called."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    return
