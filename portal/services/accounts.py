"""Signing in, with throttling of repeated failures per account and per address."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import LoginAttempt, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event_for_each_agency
from portal.services.own_transaction import in_own_transaction

DEMO_EMAILS = frozenset(
    {
        "demo@example.com",
        "staff@example.com",
        "manager@example.com",
        "viewer@example.com",
        "other@example.com",
    }
)


class InvalidCredentials(DomainError):
    def __init__(self) -> None:
        super().__init__("That email and password do not match an active account.")


class LoginThrottled(DomainError):
    def __init__(self, minutes: int) -> None:
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} {unit}.")
        self.minutes = minutes


@dataclass(frozen=True)
class _Limits:
    per_account: int
    per_address: int
    window: timedelta


def _limits() -> _Limits:
    cfg = current_app.config
    return _Limits(
        cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]),
    )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@cache
def _stand_in_hash() -> str:
    """A hash made the same way as real ones (same method and cost), of no one's password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _minutes_locked(column: object, value: str, limit: int, window: timedelta) -> int:
    """Minutes until the oldest counted failure leaves the window, or 0 when under the limit."""
    since = utcnow() - window
    failures = select(LoginAttempt.at).where(
        column == value,  # type: ignore[arg-type]
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.at > since,
    )
    count = db.session.scalar(select(func.count()).select_from(failures.subquery())) or 0
    if count < limit:
        return 0
    oldest = db.session.scalar(failures.order_by(LoginAttempt.at.desc()).offset(limit - 1).limit(1))
    assert oldest is not None
    remaining = (oldest + window - utcnow()).total_seconds()
    return max(1, math.ceil(remaining / 60))


def check_throttle(email: str, address: str) -> None:
    """Raise LoginThrottled when this account or address has failed too often recently."""
    limits = _limits()
    minutes = max(
        _minutes_locked(LoginAttempt.email, email, limits.per_account, limits.window),
        _minutes_locked(LoginAttempt.address, address, limits.per_address, limits.window),
    )
    if minutes:
        raise LoginThrottled(minutes)


def record_failed_sign_in(email: str, address: str) -> None:
    """Keep a failed attempt, in its own transaction: the request that saw it fails, and these
    are what throttling counts."""
    attempt = LoginAttempt(email=email, address=address, succeeded=False)
    in_own_transaction(lambda session: session.add(attempt))


def authenticate_user(email: str, password: str, address: str) -> User:
    """The user for these credentials; demo logins only in demo mode. A failure is recorded (and
    throttled); success is recorded by `record_sign_in` once every step of signing in is done."""
    email = normalise_email(email)
    check_throttle(email, address)
    user = db.session.scalar(select(User).where(User.email == email))
    # The hash is always checked, against a stand-in when there is no such account (or it has no
    # password yet), so the time an answer takes does not tell which emails have accounts.
    stored = user.password_hash if user is not None and user.has_password else _stand_in_hash()
    matches = check_password_hash(stored, password)
    ok = (
        user is not None
        and user.has_password
        and user.active
        and matches
        and (current_app.config["DEMO_MODE"] or email not in DEMO_EMAILS)
    )
    if not ok or user is None:
        record_failed_sign_in(email, address)
        raise InvalidCredentials()
    return user


def record_sign_in(user: User, address: str) -> None:
    """The person is signed in: keep the attempt and tell each of their agencies' audit logs."""
    db.session.add(LoginAttempt(email=user.email, address=address, succeeded=True))
    user.last_login_at = utcnow()
    # One event per agency, so each agency's audit log shows who signed in to it.
    record_event_for_each_agency("user.sign_in", user)
