"""Reckon's OAuth identity server: authorize URL, code exchange and refresh (rotating tokens)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from . import base
from .errors import (
    AuthError,
    OutcomeUnknown,
    Unavailable,
    UpstreamError,
    ValidationError,
    reworded,
)
from .ratelimit import UNLIMITED, shared_limiter

SERVICE = "Reckon"
DEFAULT_IDENTITY_URL = "https://identity.reckon.com"
SCOPES = "openid read write offline_access"  # offline_access is what grants a refresh token


@dataclass(frozen=True)
class Tokens:
    """One Reckon connection's tokens; the refresh token rotates, so store every new one."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    scope: str | None = None

    def expires_within(self, seconds: float, now: datetime) -> bool:
        """True when the access token is gone or will be within `seconds`."""
        return self.expires_at - timedelta(seconds=seconds) <= now


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReckonIdentityClient:
    """The portal's registered Reckon app talking to the identity server."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        base_url: str = DEFAULT_IDENTITY_URL,
        options: base.HttpOptions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._clock = clock
        limiter = shared_limiter(f"{SERVICE} identity", client_id, UNLIMITED)
        self._http = base.HttpClient(SERVICE, base_url, limiter=limiter, options=options)
        # Basic client auth, form-encoded first as RFC 6749 §2.3.1 (and IdentityServer) expect.
        self._http.auth = (quote(client_id, safe=""), quote(client_secret, safe=""))
        self._http.headers["Accept"] = "application/json"

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def authorize_url(self, state: str, nonce: str) -> str:
        """Where to send the browser so a user can connect a Reckon book."""
        query = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": SCOPES,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "nonce": nonce,
        }
        return f"{self._http.url('connect/authorize')}?{urlencode(query)}"

    def exchange_code(self, code: str) -> Tokens:
        """Trade the callback's one-time code for tokens."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        return self._token(form)

    def refresh(self, refresh_token: str) -> Tokens:
        """New tokens from a refresh token; AuthError ("reconnect needed") when it is refused."""
        tokens = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        # A server that does not rotate leaves the old refresh token valid.
        return tokens if tokens.refresh_token else replace(tokens, refresh_token=refresh_token)

    def _token(self, form: dict[str, str]) -> Tokens:
        try:
            # Never retried: a code is single-use and a refresh token rotates when used.
            response = self._http.request("POST", "connect/token", data=form, idempotent=False)
        except (ValidationError, AuthError) as exc:
            msg = "Reckon no longer accepts this connection; reconnect Reckon to continue."
            raise reworded(exc, AuthError, msg) from exc
        except OutcomeUnknown as exc:
            # Nothing the user cares about changed; if the refresh token did rotate unseen,
            # the next attempt is refused and asks for a reconnect.
            msg = "Reckon's sign-in service did not answer; try again shortly."
            raise reworded(exc, Unavailable, msg) from exc
        return self._parse(base.decode_json(response, SERVICE))

    def _parse(self, body: Any) -> Tokens:
        if not isinstance(body, dict) or not body.get("access_token"):
            raise UpstreamError(
                "Reckon's sign-in service sent an unexpected answer.", service=SERVICE
            )
        lifetime = float(body.get("expires_in") or 0)
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or ""),
            expires_at=self._clock() + timedelta(seconds=lifetime),
            token_type=str(body.get("token_type") or "Bearer"),
            scope=body.get("scope"),
        )


class TokenKeeper:
    """One connection's current tokens: refreshed early, or on demand once per stale token."""

    def __init__(
        self,
        tokens: Tokens,
        identity: ReckonIdentityClient,
        on_tokens: Callable[[Tokens], None],
        *,
        margin: float = 60.0,  # refresh early so a token never expires mid-request
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.tokens = tokens
        self._identity = identity
        self._on_tokens = on_tokens
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()

    def current(self, margin: float | None = None) -> Tokens:
        """Tokens good for at least `margin` more seconds (the keeper's own, by default)."""
        tokens = self.tokens
        if tokens.expires_within(self._margin if margin is None else margin, self._clock()):
            return self.refresh(stale=tokens)
        return tokens

    def refresh(self, stale: Tokens) -> Tokens:
        """Replace `stale` and hand the new tokens to on_tokens; threads share one refresh,
        because a rotated refresh token works only once."""
        with self._lock:
            if self.tokens is stale:
                self.tokens = self._identity.refresh(stale.refresh_token)
                self._on_tokens(self.tokens)
            return self.tokens
