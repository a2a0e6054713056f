"""The one choke point for third-party HTTP: connection pool, timeouts, retries, limits, typed
errors.

Calls go straight to urllib3's thread-safe pool: the portal needs none of what requests adds per
call (cookies, redirects, environment look-ups, hooks), and a sync makes one or two calls per
record, so that layer was a sixth of a worker's CPU. `Response` carries what the clients read.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)

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


@dataclass(frozen=True)
class Response:
    """An upstream's answer: what the clients and the error mapping read of it."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    url: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def decode_json(response: Response, service: str, *, decimals: bool = False) -> Any:
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


def _unsent(exc: HTTPError) -> bool:
    """True when the request provably never reached the server (so even a POST may be retried):
    no connection was made (refused, or it timed out while connecting)."""
    return isinstance(exc, ConnectTimeoutError | NewConnectionError)


def _timed_out(exc: HTTPError) -> bool:
    if isinstance(exc, NewConnectionError):  # urllib3 files "refused" under connect timeouts
        return False
    return isinstance(exc, ConnectTimeoutError | ReadTimeoutError)


def _pool(base_url: str) -> urllib3.PoolManager:
    """A pool for one client, through the environment's proxy for its URL if any (read once)."""
    scheme = urlsplit(base_url).scheme
    proxy = requests.utils.get_environ_proxies(base_url).get(scheme)
    if not proxy:
        return urllib3.PoolManager(maxsize=8, retries=False)
    parsed = urllib3.util.parse_url(proxy)
    auth = urllib3.util.make_headers(proxy_basic_auth=parsed.auth) if parsed.auth else None
    return urllib3.ProxyManager(proxy, proxy_headers=auth, maxsize=8, retries=False)


def _body(kwargs: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    """The request body from `json=` or `data=` (text, bytes, or a form as a mapping)."""
    if kwargs.get("json") is not None:
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(kwargs["json"], allow_nan=False).encode()
    data = kwargs.get("data")
    if data is None:
        return None
    if isinstance(data, Mapping):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(data, doseq=True).encode()
    return data.encode() if isinstance(data, str) else bytes(data)


def _with_params(url: str, params: Any) -> str:
    """The URL with the query parameters (a mapping, or pairs for repeated names) that have a
    value: None drops one, as in requests."""
    items = params.items() if isinstance(params, Mapping) else params or []
    pairs = [(k, v) for k, v in items if v is not None]
    if not pairs:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(pairs, doseq=True)}"


class _Budget:
    """How much more one call may sleep in total."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def spend(self, seconds: float) -> None:
        self.left = max(0.0, self.left - seconds)


class HttpClient:
    """A connection pool plus the retry loop; each upstream client owns one and sets its own
    `headers` and `auth` (HTTP Basic, user and password)."""

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
        self.headers: dict[str, str] = {
            "User-Agent": "clinic-portal",
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
        }
        self.auth: tuple[str, str] | None = None
        self._pool = _pool(self.base_url)
        self._timeout = urllib3.Timeout(
            connect=self.options.connect_timeout, read=self.options.read_timeout
        )
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
    ) -> Response:
        """Send with rate limiting, timeouts and safe retries; return a 2xx/3xx or raise.
        Takes `params`, `json` or `data`, and `headers` (over the client's own)."""
        method = method.upper()
        idem = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url, budget = self.url(path), _Budget(self.options.max_wait)
        for attempt in range(self.options.retries + 1):
            try:
                response = self._send(method, url, budget, kwargs)
            except HTTPError as exc:
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
        self._pool.clear()

    def _send(self, method: str, url: str, budget: _Budget, kwargs: dict[str, Any]) -> Response:
        headers = {**self.headers, **(kwargs.get("headers") or {})}
        if self.auth is not None and "Authorization" not in headers:
            headers |= urllib3.util.make_headers(basic_auth=":".join(self.auth))
        body = _body(kwargs, headers)
        full_url = _with_params(url, kwargs.get("params"))
        slot = self.limiter.acquire(budget.left)
        budget.spend(slot.waited)
        try:
            answer = self._pool.request(
                method,
                full_url,
                body=body,
                headers=headers,
                timeout=self._timeout,
                retries=False,  # the loop in `request` decides, knowing what is safe to repeat
                redirect=False,
            )
        finally:
            self.limiter.finish(slot)
        return Response(answer.status, answer.headers, answer.data, full_url)

    def _transport_error(self, exc: HTTPError, method: str, url: str, idem: bool) -> UpstreamError:
        ctx: dict[str, Any] = {"service": self.service, "method": method}
        ctx["path"] = urlsplit(url).path
        kind = "did not answer in time" if _timed_out(exc) else "is unreachable"
        if idem or _unsent(exc):
            return Unavailable(f"{self.service} {kind}; try again later.", **ctx)
        return OutcomeUnknown(unknown_outcome_message(self.service), **ctx)

    def _server_hint(self, response: Response, failure: UpstreamError) -> float | None:
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
