"""The one choke point for third-party HTTP: session, timeouts, retries, limits, typed errors."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from .errors import (
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    UpstreamError,
    error_from_response,
    unknown_outcome_message,
)
from .ratelimit import Limiter

log = logging.getLogger("portal.clients")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts and retry policy for one client; tests shrink these to keep the suite fast."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3  # extra attempts after the first one
    backoff_base: float = 0.5  # the first retry waits about this long, then it doubles
    backoff_cap: float = 15.0
    jitter: float = 0.5  # share of each delay that is randomised, so clients don't retry in step
    max_wait: float = 90.0  # total sleeping one call may do: backoff, rate limits and resets


def backoff_delay(attempt: int, options: HttpOptions, rand: float) -> float:
    """Delay before retry `attempt` (0-based): exponential, capped, minus up to `jitter` of it."""
    ceiling = min(options.backoff_cap, options.backoff_base * 2**attempt)
    return ceiling * (1 - options.jitter * rand)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def reset_seconds(value: str | None, now: float) -> float | None:
    """Seconds until an X-RateLimit-Reset UNIX timestamp; None when absent or already past."""
    try:
        delay = float(value) - now if value else None
    except ValueError:
        return None
    return delay if delay is not None and delay > 0 else None


def next_link(header: str | None) -> str | None:
    """The rel="next" URL from an RFC 8288 Link header, if any."""
    if not header:
        return None
    for link in requests.utils.parse_header_links(header):
        if "next" in link.get("rel", "").split():
            return link.get("url") or None
    return None


def same_origin(url: str, base_url: str) -> bool:
    """True when url has base_url's scheme, host and port (credentials must not leak elsewhere)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def decode_json(response: requests.Response, service: str, *, decimals: bool = False) -> Any:
    """The response body as JSON (floats as Decimal when asked), or an UpstreamError."""
    if not response.content:
        return None
    try:
        if decimals:
            return json.loads(response.text, parse_float=Decimal)
        return response.json()
    except ValueError as exc:
        raise UpstreamError(
            f"{service} sent an answer we could not read.", service=service
        ) from exc


def _unsent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (so even a POST may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


class _Budget:
    """How much more one call may sleep in total."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def spend(self, seconds: float) -> None:
        self.left = max(0.0, self.left - seconds)


class HttpClient:
    """A session plus the retry loop; each upstream client owns one and adds its own auth."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        limiter: Limiter,
        options: HttpOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.options = options or HttpOptions()
        self.session = requests.Session()
        # The environment's proxy settings are read once for this base URL, not on every call
        # (requests would otherwise look up the proxy variables and ~/.netrc per request).
        self.session.proxies = requests.utils.get_environ_proxies(self.base_url)
        self.session.trust_env = False
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rand = rand

    def url(self, path: str) -> str:
        """Absolute URL for a path under the base URL (absolute URLs must share its origin)."""
        if "://" not in path:
            return f"{self.base_url}/{path.lstrip('/')}"
        if not same_origin(path, self.base_url):
            raise UpstreamError(f"{self.service} pointed us at another site; refusing to follow.")
        return path

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send with rate limiting, timeouts and safe retries; return a 2xx/3xx or raise."""
        method = method.upper()
        idem = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url, budget = self.url(path), _Budget(self.options.max_wait)
        for attempt in range(self.options.retries + 1):
            try:
                response = self._send(method, url, budget, kwargs)
            except requests.RequestException as exc:
                failure = self._transport_error(exc, method, url, idem)
                hint = None
            else:
                if response.status_code < 400:
                    return response
                failure = error_from_response(response, self.service, method, idem)
                hint = self._server_hint(response, failure)
            if attempt == self.options.retries or not isinstance(
                failure, RateLimited | Unavailable
            ):
                raise failure
            self._wait_before_retry(failure, hint, attempt, budget)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def _send(
        self, method: str, url: str, budget: _Budget, kwargs: dict[str, Any]
    ) -> requests.Response:
        slot = self.limiter.acquire(budget.left)
        budget.spend(slot.waited)
        timeout = (self.options.connect_timeout, self.options.read_timeout)
        try:
            return self.session.request(method, url, timeout=timeout, **kwargs)
        finally:
            self.limiter.finish(slot)

    def _transport_error(
        self, exc: requests.RequestException, method: str, url: str, idem: bool
    ) -> UpstreamError:
        ctx: dict[str, Any] = {"service": self.service, "method": method}
        ctx["path"] = urlsplit(url).path
        kind = "did not answer in time" if isinstance(exc, requests.Timeout) else "is unreachable"
        if idem or _unsent(exc):
            return Unavailable(f"{self.service} {kind}; try again later.", **ctx)
        return OutcomeUnknown(unknown_outcome_message(self.service), **ctx)

    def _server_hint(self, response: requests.Response, failure: UpstreamError) -> float | None:
        now, headers = self._wall_clock(), response.headers
        hint = reset_seconds(headers.get("X-RateLimit-Reset"), now)
        if hint is None:
            hint = retry_after_seconds(headers.get("Retry-After"), now)
        if hint is not None and isinstance(failure, RateLimited):
            # Pause the shared limiter so every client on this credential backs off together,
            # even when this call has no retries left.
            failure.retry_after = hint
            self.limiter.pause_for(hint)
        return hint

    def _wait_before_retry(
        self, failure: UpstreamError, hint: float | None, attempt: int, budget: _Budget
    ) -> None:
        delay = hint if hint is not None else backoff_delay(attempt, self.options, self._rand())
        log.info(
            "%s %s failed (%s); retrying in %.2fs",
            self.service,
            failure.method,
            type(failure).__name__,
            delay,
        )
        if isinstance(failure, RateLimited):
            # The next acquire does the sleeping, and refuses if it would exceed the budget.
            if hint is None:
                self.limiter.pause_for(delay)
            return
        if delay > budget.left:
            raise failure
        self._sleep(delay)
        budget.spend(delay)
