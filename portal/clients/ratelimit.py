"""Client-side rate limiting: a sliding window per credential, shared across the process."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RateLimited


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests in any `window` seconds."""

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")


class Slot:
    """One request's place in the window; `finish` re-stamps it when the response arrives."""

    __slots__ = ("at", "waited")

    def __init__(self, at: float, waited: float) -> None:
        self.at = at
        self.waited = waited


class RateLimiter:
    """Sliding-window log limiter, thread-safe; also honours server-announced pauses."""

    def __init__(
        self,
        rate: RateLimit,
        *,
        name: str = "The service",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._slots: list[Slot] = []
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, max_wait: float = math.inf) -> Slot:
        """Wait for a free slot and take it; raise RateLimited if that needs more than max_wait."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    slot = Slot(now, waited)
                    self._slots.append(slot)
                    return slot
            if waited + wait > max_wait:
                raise RateLimited(
                    f"{self.name} is busy: too many requests right now. "
                    f"Try again in {math.ceil(wait)} seconds.",
                    retry_after=wait,
                )
            self._sleep(wait)
            waited += wait

    def finish(self, slot: Slot) -> None:
        """Count the slot from when its response arrived, so network latency never lets us
        squeeze one request too many into the server's window."""
        with self._lock:
            slot.at = max(slot.at, self._clock())

    def pause_for(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the server told us when its window resets)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _wait_needed(self, now: float) -> float:
        horizon = now - self.rate.window
        self._slots = [s for s in self._slots if s.at > horizon]
        wait = self._paused_until - now
        if len(self._slots) >= self.rate.limit:
            # Re-stamped slots may be out of order, so the oldest is the minimum, not the first.
            oldest = min(s.at for s in self._slots)
            wait = max(wait, oldest + self.rate.window - now)
        return wait


_shared: dict[tuple[str, str, int, float], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(service: str, credential: str, rate: RateLimit) -> RateLimiter:
    """The one limiter for this service + credential + rate in this process."""
    # Key on a digest so the registry never holds a usable secret.
    digest = hashlib.sha256(credential.encode()).hexdigest()
    key = (service, digest, rate.limit, rate.window)
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(rate, name=service)
        return limiter


def clear_shared_limiters() -> None:
    """Forget all shared limiters (tests re-seed the sandbox between cases)."""
    with _shared_lock:
        _shared.clear()
