"""Rolling-window rate limits per upstream and credential; defaults are the documented ones."""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    limit: int
    window_seconds: float


# Cliniko: 200 per minute per user (cliniko.md §3). VaocherApp and Reckon publish none, so off.
DEFAULT_LIMITS: dict[str, Limit | None] = {
    "cliniko": Limit(200, 60),
    "vaocherapp": None,
    "reckon": None,
    "reckon-identity": None,
}


class RateLimiter:
    """Counts requests in a rolling window; answers how long until a slot frees up."""

    def __init__(self) -> None:
        self.limits: dict[str, Limit | None] = dict(DEFAULT_LIMITS)
        self._hits: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def configure(self, upstream: str, limit: Limit | None) -> None:
        with self._lock:
            self.limits[upstream] = limit
            for key in [k for k in self._hits if k[0] == upstream]:
                del self._hits[key]

    def check(self, upstream: str, credential: str, now: float) -> float | None:
        """None when allowed (and counted); else the UNIX time the window frees a slot."""
        rule = self.limits.get(upstream)
        if rule is None:
            return None
        with self._lock:
            hits = self._hits[(upstream, credential)]
            while hits and hits[0] <= now - rule.window_seconds:
                hits.popleft()
            if len(hits) >= rule.limit:
                return hits[0] + rule.window_seconds
            hits.append(now)
            return None

    def describe(self) -> dict[str, dict[str, float] | None]:
        return {
            name: None
            if rule is None
            else {"limit": rule.limit, "window_seconds": rule.window_seconds}
            for name, rule in self.limits.items()
        }


def seconds_until(reset_at: float, now: float) -> int:
    """Whole seconds to wait, at least 1."""
    return max(1, math.ceil(reset_at - now))
