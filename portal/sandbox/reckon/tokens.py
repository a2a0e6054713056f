"""Reckon identity state: users, codes, access and refresh tokens, judged by the world clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import Clock
from .assumptions import (
    ACCESS_TOKEN_TTL,
    AUTH_CODE_TTL,
    REDIRECT_HOSTS,
    REFRESH_TOKEN_ABSOLUTE_TTL,
    REFRESH_TOKEN_SLIDING_TTL,
)


class OAuthError(Exception):
    """An RFC 6749 error response: `{"error": code}` with its HTTP status."""

    def __init__(self, error: str, status: int = 400, description: str = "") -> None:
        super().__init__(error)
        self.error, self.status, self.description = error, status, description


@dataclass
class IdentitySettings:
    """Knobs the control plane may change (short lifetimes make expiry testable)."""

    access_token_ttl: int = ACCESS_TOKEN_TTL
    refresh_token_ttl: int = REFRESH_TOKEN_SLIDING_TTL
    refresh_token_absolute_ttl: int = REFRESH_TOKEN_ABSOLUTE_TTL
    code_ttl: int = AUTH_CODE_TTL
    redirect_hosts: list[str] = field(default_factory=lambda: list(REDIRECT_HOSTS))


@dataclass(frozen=True)
class User:
    """A Reckon login and the books it may use."""

    id: str
    username: str
    name: str
    book_ids: tuple[str, ...]


@dataclass
class Grant:
    """What a token (or code) stands for: who, which app, which scopes, until when."""

    user: User
    client_id: str
    scope: tuple[str, ...]
    expires_at: datetime
    nonce: str = ""
    redirect_uri: str = ""
    absolute_expires_at: datetime | None = None


class TokenStore:
    """Issues and checks codes and tokens; expiry is always judged by the sandbox clock."""

    def __init__(self, clock: Clock, client_id: str, client_secret: str) -> None:
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.settings = IdentitySettings()
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}

    def _after(self, seconds: int) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)

    def issue_code(self, user: User, scope: tuple[str, ...], redirect_uri: str, nonce: str) -> str:
        """A single-use, short-lived authorization code."""
        code = secrets.token_urlsafe(24)
        expires = self._after(self.settings.code_ttl)
        self.codes[code] = Grant(user, self.client_id, scope, expires, nonce, redirect_uri)
        return code

    def redeem_code(self, code: str, redirect_uri: str) -> Grant:
        """Consume a code; reuse, expiry or a different redirect_uri is invalid_grant."""
        grant = self.codes.pop(code, None)  # popped first: a code never works twice
        if grant is None or grant.expires_at <= self.clock.now():
            raise OAuthError("invalid_grant")
        if grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", description="redirect_uri does not match")
        return grant

    def redeem_refresh(self, token: str) -> Grant:
        """Consume a refresh token (rotation: the old one stops working)."""
        grant = self.refresh.pop(token, None)
        now = self.clock.now()
        if grant is None or grant.expires_at <= now:
            raise OAuthError("invalid_grant")
        if grant.absolute_expires_at and grant.absolute_expires_at <= now:
            raise OAuthError("invalid_grant")
        return grant

    def issue_tokens(self, grant: Grant) -> dict[str, object]:
        """The token response for a redeemed grant."""
        access = secrets.token_urlsafe(32)
        ttl = self.settings.access_token_ttl
        self.access[access] = Grant(grant.user, grant.client_id, grant.scope, self._after(ttl))
        body: dict[str, object] = {
            "access_token": access,
            "expires_in": ttl,
            "token_type": "Bearer",
            "scope": " ".join(grant.scope),
        }
        if "openid" in grant.scope:
            body["id_token"] = self._id_token(grant)
        if "offline_access" in grant.scope:  # [DOC] offline access is what allows refresh tokens
            body["refresh_token"] = self._issue_refresh(grant)
        return body

    def _issue_refresh(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        absolute = grant.absolute_expires_at or self._after(
            self.settings.refresh_token_absolute_ttl
        )
        expires = self._after(self.settings.refresh_token_ttl)
        self.refresh[token] = Grant(
            grant.user, grant.client_id, grant.scope, expires, absolute_expires_at=absolute
        )
        return token

    def issue_access(self, user: User) -> str:
        """An access token straight away (control plane: tests skip the browser flow)."""
        token = secrets.token_urlsafe(32)
        expires = self._after(self.settings.access_token_ttl)
        self.access[token] = Grant(user, self.client_id, ("openid", "read", "write"), expires)
        return token

    def check_access(self, token: str) -> Grant | None:
        """The live grant behind a bearer token, or None when unknown or expired."""
        grant = self.access.get(token)
        if grant is None or grant.expires_at <= self.clock.now():
            return None
        return grant

    def revoke(self, refresh_token: str = "", access_token: str = "") -> int:
        """Drop the named tokens, or every token when none is named; returns how many went."""
        if not refresh_token and not access_token:
            count = len(self.refresh) + len(self.access)
            self.refresh.clear()
            self.access.clear()
            return count
        dropped = [self.refresh.pop(refresh_token, None), self.access.pop(access_token, None)]
        return sum(1 for d in dropped if d is not None)

    def _id_token(self, grant: Grant) -> str:
        """An HS256-signed OpenID id_token (the real server signs RS256; clients only decode it)."""
        now = int(self.clock.now().timestamp())
        claims = {
            "iss": "reckon-identity",
            "aud": grant.client_id,
            "sub": grant.user.id,
            "name": grant.user.name,
            "preferred_username": grant.user.username,
            "iat": now,
            "nbf": now,
            "exp": now + self.settings.access_token_ttl,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        head = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64(claims)
        mac = hmac.new(self.client_secret.encode(), head.encode(), hashlib.sha256).digest()
        return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _b64(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
