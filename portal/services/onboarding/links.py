"""Signed links for email: made and read here, with their lifetimes, and turned into absolute
URLs from PUBLIC_BASE_URL (or the address of the request that asked)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum
from typing import Any

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.services import DomainError


class Purpose(StrEnum):
    """What a link does; each has its own salt, so one kind never passes for another."""

    INVITATION = "invitation"
    RESET = "password-reset"
    SETUP = "account-setup"  # the first admin's link from `flask create-admin`


LIFETIMES = {
    Purpose.INVITATION: timedelta(days=7),
    Purpose.RESET: timedelta(hours=1),
    Purpose.SETUP: timedelta(days=7),
}
MAX_TOKEN_LENGTH = 1000  # longer than any link this module makes


class LinkNotValid(DomainError):
    """The link is malformed, expired, already used or withdrawn; the message says which."""


class NoPublicAddress(DomainError):
    def __init__(self) -> None:
        super().__init__("Set PUBLIC_BASE_URL so links in email point at the portal.")


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


def make_token(purpose: Purpose, payload: dict[str, Any]) -> str:
    return str(_serializer(purpose).dumps(payload))


def read_token(purpose: Purpose, token: str, expired_message: str) -> dict[str, Any]:
    """The payload of a link made by `make_token` for `purpose`, within its lifetime."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise LinkNotValid("This link is not valid. Check that it was copied whole.")
    max_age = int(LIFETIMES[purpose].total_seconds())
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkNotValid(expired_message) from None
    except BadSignature:
        raise LinkNotValid("This link is not valid. Check that it was copied whole.") from None
    if not isinstance(payload, dict):
        raise LinkNotValid("This link is not valid.")
    return payload


def secret_digest(value: str) -> str:
    """A keyed digest of `value` to put in a link: the link is signed, not encrypted, so what it
    carries must reveal nothing (a password hash goes in only as this)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def public_url(path: str, base: str | None = None) -> str:
    """`path` on the portal's public address: `base`, PUBLIC_BASE_URL, or the request's host."""
    chosen = base or current_app.config.get("PUBLIC_BASE_URL") or ""
    if not chosen and has_request_context():
        chosen = request.host_url
    if not chosen:
        raise NoPublicAddress()
    return chosen.rstrip("/") + path


def lifetime_words(purpose: Purpose) -> str:
    life = LIFETIMES[purpose]
    if life >= timedelta(days=1):
        days = life.days
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(life.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"
