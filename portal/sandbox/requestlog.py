"""What each upstream was asked, so tests can count the portal's calls (e.g. redeems)."""

from __future__ import annotations

import base64
import itertools
import threading
from collections import deque
from typing import Any

from flask import Request

MAX_ENTRIES = 200_000  # enough for a benchmark run; older entries fall off


def credential(request: Request) -> str:
    """The caller's key or token: Basic username, Bearer token, or APIM subscription key."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode("utf-8", "replace").partition(":")[0]
        except ValueError:
            return ""
    if scheme.lower() == "bearer":
        return value.strip()
    return request.headers.get("Ocp-Apim-Subscription-Key", "")


class RequestLog:
    """An append-only, thread-safe list of upstream requests with a sequence number."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append({"seq": next(self._seq), **entry})

    def entries(self, upstream: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [
                e
                for e in self._entries
                if (upstream is None or e["upstream"] == upstream) and e["seq"] > since
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
