"""The Reckon client's transport: bearer tokens that refresh on a 401, paging, create and
merge-patch, all through the shared HTTP choke point (`base.HttpClient`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from . import base
from .errors import AuthError, reworded
from .ratelimit import UNLIMITED, RateLimit, shared_limiter
from .reckon_identity import ReckonIdentityClient, TokenKeeper, Tokens, utcnow
from .reckon_models import to_wire

SERVICE = "Reckon"
DEFAULT_BASE_URL = "https://api.reckon.com/r1/v2"
PER_PAGE = 100  # confirmed to work; the documented default is a silent 10
MERGE_PATCH = "application/merge-patch+json"


def seg(value: str) -> str:
    """One path segment, quoted."""
    return quote(str(value), safe="")


class ReckonTransport:
    """Authenticated requests to Reckon One's API for one connected user."""

    def __init__(
        self,
        tokens: Tokens,
        *,
        subscription_key: str,
        identity: ReckonIdentityClient,
        on_tokens: Callable[[Tokens], None],
        base_url: str = DEFAULT_BASE_URL,
        options: base.HttpOptions | None = None,
        rate_limit: RateLimit | None = None,
        rate_store: Any | None = None,  # a Redis client: one window for every process
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._keeper = TokenKeeper(tokens, identity, on_tokens, clock=clock)
        # APIM publishes no numbers: by default only its 429s' Retry-After pauses are shared.
        limiter = shared_limiter(SERVICE, subscription_key, rate_limit or UNLIMITED, rate_store)
        self._http = base.HttpClient(SERVICE, base_url, limiter=limiter, options=options)
        self._http.headers.update(
            {"Ocp-Apim-Subscription-Key": subscription_key, "Accept": "application/json"}
        )

    @property
    def tokens(self) -> Tokens:
        """The tokens in use now (after any refresh)."""
        return self._keeper.tokens

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def keep_fresh(self, seconds: float) -> None:
        """Refresh the access token now if it would expire within `seconds`: before calls go to
        other threads, so that none of them has to refresh it."""
        self._keeper.current(margin=seconds)

    # ---- plumbing --------------------------------------------------------------------------
    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self._request("GET", path, params=params)
        return base.decode_json(response, SERVICE, decimals=True) or {}

    def _iter(self, path: str, filter: str | None = None) -> Iterator[dict[str, Any]]:
        """Page through `{"list": [...]}` with page/perpage until the Link header has no next."""
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "perpage": PER_PAGE}
            if filter:
                params["filter"] = filter
            response = self._request("GET", path, params=params)
            rows = (base.decode_json(response, SERVICE, decimals=True) or {}).get("list") or []
            yield from rows
            if not rows or not self._has_more(response, page, len(rows)):
                return
            page += 1

    @staticmethod
    def _has_more(response: base.Response, page: int, count: int) -> bool:
        # Page numbers are ours: the Link URLs can carry the wrong scheme behind APIM.
        if base.next_link(response.headers.get("Link")):
            return True
        total = response.headers.get("X-Total-Count")
        if total is not None and total.isdigit():
            return (page - 1) * PER_PAGE + count < int(total)
        return False

    def _create(self, path: str, body: Mapping[str, Any]) -> str:
        response = self._request(
            "POST",
            path,
            data=json.dumps(to_wire(body)),
            headers={"Content-Type": "application/json"},
        )
        created = base.decode_json(response, SERVICE) or {}
        return str(created.get("id", ""))

    def _patch(self, path: str, fields: Mapping[str, Any]) -> None:
        # A merge patch sets values, so repeating it is harmless: retries are allowed.
        self._request(
            "PATCH",
            path,
            data=json.dumps(to_wire(fields)),
            idempotent=True,
            headers={"Content-Type": MERGE_PATCH},
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> base.Response:
        """Send with a fresh access token; on a 401 refresh once and try again."""
        tokens = self._keeper.current()
        try:
            return self._http.request(method, path, **self._authed(tokens, kwargs))
        except AuthError as exc:
            if exc.status != 401:
                raise
            tokens = self._keeper.refresh(stale=tokens)
        try:
            return self._http.request(method, path, **self._authed(tokens, kwargs))
        except AuthError as exc:
            msg = "Reckon refused our access even after refreshing it; reconnect Reckon."
            raise reworded(exc, AuthError, msg) from exc

    @staticmethod
    def _authed(tokens: Tokens, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = {**kwargs.get("headers", {}), "Authorization": f"Bearer {tokens.access_token}"}
        return {**kwargs, "headers": headers}
