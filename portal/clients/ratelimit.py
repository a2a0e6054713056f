"""Client-side rate limiting: a sliding window per credential, in this process or in Redis."""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import RateLimited


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests in any `window` seconds."""

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")


# For services that publish no limit (Reckon's gateway, VaocherApp): no window is kept, only the
# pauses the server announces with a 429.
UNLIMITED = RateLimit(1_000_000, 1.0)


class Slot:
    """One request's place in the window; `finish` re-stamps it when the response arrives."""

    __slots__ = ("at", "ref", "waited")

    def __init__(self, at: float, waited: float, ref: str = "") -> None:
        self.at = at
        self.waited = waited
        self.ref = ref  # the slot's name in a shared (Redis) window


class Limiter(Protocol):
    """What the HTTP choke point needs of a limiter, in-process or shared through Redis."""

    def acquire(self, max_wait: float = math.inf) -> Slot: ...

    def finish(self, slot: Slot) -> None: ...

    def pause_for(self, seconds: float) -> None: ...


def too_busy(name: str, wait: float) -> RateLimited:
    """What a caller that may not wait `wait` seconds for a slot is told."""
    return RateLimited(
        f"{name} is busy: too many requests right now. Try again in {math.ceil(wait)} seconds.",
        retry_after=wait,
    )


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
                raise too_busy(self.name, wait)
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


# ---- shared through Redis ----------------------------------------------------------------------
# The same sliding window with its state in Redis, shared by every process and host. Each
# credential's window is a sorted set of request stamps (Redis server time, so hosts with skewed
# clocks agree) plus a "paused until" key set when the upstream announces a reset. Taking a slot is
# one atomic Lua script, so two workers can never both take the last slot. `store` is any redis-py
# client, duck-typed: this module imports nothing outside the standard library.
# Returns {1, now} when a slot was taken, else {0, seconds to wait}. Floats travel as strings:
# Redis turns Lua numbers into integers.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local wait = 0
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then wait = paused - now end
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + window - now)
end
if wait > 0 then return {0, tostring(wait)} end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return {1, tostring(now)}
"""
# Re-stamp the slot when its response arrived (never earlier than it was taken).
_FINISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', 'GT', now, ARGV[1])
return 1
"""
_PAUSE = """
local t = redis.call('TIME')
local untill = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
if untill > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(untill), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RedisRateLimiter:
    """A limiter with RateLimiter's interface whose window lives in Redis under `key`."""

    def __init__(
        self,
        rate: RateLimit,
        store: Any,
        key: str,
        *,
        name: str = "The service",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.name = rate, name
        self._window, self._paused = f"{key}:window", f"{key}:paused"
        self._acquire = store.register_script(_ACQUIRE)
        self._finish = store.register_script(_FINISH)
        self._pause = store.register_script(_PAUSE)
        self._sleep = sleep

    def acquire(self, max_wait: float = math.inf) -> Slot:
        """Wait for a free slot and take it; raise RateLimited if that needs more than max_wait."""
        waited, member = 0.0, uuid.uuid4().hex
        while True:
            taken, value = self._acquire(
                keys=[self._window, self._paused],
                args=[self.rate.limit, self.rate.window, member],
            )
            if int(taken):
                return Slot(float(value), waited, ref=member)
            wait = float(value)
            if waited + wait > max_wait:
                raise too_busy(self.name, wait)
            # Sleep a little past the edge: another process may take the slot that frees.
            self._sleep(wait + 0.001)
            waited += wait

    def finish(self, slot: Slot) -> None:
        self._finish(keys=[self._window], args=[slot.ref])

    def pause_for(self, seconds: float) -> None:
        """Hold every caller on this credential, in every process, back for `seconds`."""
        if seconds > 0:
            self._pause(keys=[self._paused], args=[seconds])


# A pause on a service with no published limit. The key expires when the pause ends, so a reader
# needs only its time to live: no clock is compared across hosts. A shorter pause never cuts a
# longer one short.
_PAUSE_TTL = """
if tonumber(ARGV[1]) > redis.call('PTTL', KEYS[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""


class SharedPause:
    """A limiter for a service that publishes no limit: nothing is counted, but a pause the
    server announces (429 with Retry-After) holds every process back. Each process reads the
    shared pause at most every `refresh` seconds, so a call costs no Redis round trip: another
    process learns of a pause within that time (and, meanwhile, meets the 429 itself)."""

    def __init__(
        self,
        store: Any,
        key: str,
        *,
        name: str = "The service",
        refresh: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.refresh = name, refresh
        self._store, self._key = store, f"{key}:paused"
        self._pause = store.register_script(_PAUSE_TTL)
        self._clock, self._sleep = clock, sleep
        self._checked = -math.inf
        self._paused_until = 0.0

    def acquire(self, max_wait: float = math.inf) -> Slot:
        waited = 0.0
        while True:
            now = self._clock()
            if now - self._checked >= self.refresh:
                ttl_ms = int(self._store.pttl(self._key))
                self._paused_until = now + ttl_ms / 1000 if ttl_ms > 0 else 0.0
                self._checked = now
            wait = self._paused_until - now
            if wait <= 0:
                return Slot(now, waited)
            if waited + wait > max_wait:
                raise too_busy(self.name, wait)
            self._sleep(wait)
            waited += wait
            self._checked = -math.inf  # the pause may have been made longer meanwhile

    def finish(self, slot: Slot) -> None:
        """Nothing is counted."""

    def pause_for(self, seconds: float) -> None:
        if seconds > 0:
            self._pause(keys=[self._key], args=[math.ceil(seconds * 1000)])
            self._paused_until = max(self._paused_until, self._clock() + seconds)


_shared: dict[tuple[str, str, int, float, int], Limiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(
    service: str, credential: str, rate: RateLimit, store: Any | None = None
) -> Limiter:
    """The one limiter for this service + credential + rate: in this process, or, given a Redis
    client as `store`, one window shared by every process and host using that Redis."""
    # Key on a digest so neither the registry nor Redis ever holds a usable secret.
    digest = hashlib.sha256(credential.encode()).hexdigest()
    key = (service, digest, rate.limit, rate.window, id(store) if store is not None else 0)
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = _new_limiter(service, digest, rate, store)
        return limiter


def _new_limiter(service: str, digest: str, rate: RateLimit, store: Any | None) -> Limiter:
    if store is None:
        return RateLimiter(rate, name=service)
    key = f"portal:ratelimit:{service}:{digest[:32]}:{rate.limit}/{rate.window:g}"
    if rate == UNLIMITED:
        return SharedPause(store, key, name=service)
    return RedisRateLimiter(rate, store, key, name=service)


def clear_shared_limiters() -> None:
    """Forget all shared limiters (tests re-seed the sandbox between cases)."""
    with _shared_lock:
        _shared.clear()
