"""A person's own password: changed on their account page (the current one first), or set from
an emailed link (a reset, 1 hour; the first admin's setup link, 7 days). A link carries a digest
of the password hash it was made for, so setting a password retires every link sent before."""

from __future__ import annotations

import hashlib
import math
import secrets
import time

from flask import current_app
from redis import Redis
from sqlalchemy import select
from werkzeug.security import check_password_hash

from portal.extensions import db, get_redis
from portal.models import Agency, User
from portal.services import DomainError
from portal.services.accounts import (
    LoginThrottled,
    check_throttle,
    hash_password,
    normalise_email,
    record_failed_sign_in,
)
from portal.services.audit import record_event_for_each_agency
from portal.services.passwords import check_new_password

from .links import (
    LinkNotValid,
    Purpose,
    lifetime_words,
    make_token,
    public_url,
    read_token,
    secret_digest,
)
from .mailing import send_onboarding_mail

PATHS = {
    Purpose.RESET: "/reset-password/{token}",  # the auth blueprint serves these paths
    Purpose.SETUP: "/set-password/{token}",
}
EXPIRED = {
    Purpose.RESET: "This reset link has expired (they last an hour). Ask for a new one.",
    Purpose.SETUP: "This link has expired. Ask for a password reset on the sign-in page.",
}


def change_password(user: User, current: str, new: str, address: str) -> None:
    """The person's new password, after their current one; every session of theirs ends (the
    caller signs this one in again). A wrong current password counts as a failed sign-in."""
    check_throttle(user.email, address)
    if not user.has_password or not check_password_hash(user.password_hash, current):
        record_failed_sign_in(user.email, address)
        raise DomainError("Your current password is not right.")
    if new == current:
        raise DomainError("Choose a new password, not the one you have now.")
    _set_password(user, new, "user.change_password")


def password_link(user: User, purpose: Purpose, base_url: str | None = None) -> str:
    """A link that sets `user`'s password, valid until it is used or its lifetime ends."""
    token = make_token(purpose, {"u": user.id, "h": _fingerprint(user)})
    return public_url(PATHS[purpose].format(token=token), base_url)


def send_password_reset(email: str, base_url: str | None = None) -> bool:
    """Email a reset link when an active account has this email; say nothing otherwise (the
    caller answers the same either way). Whether one was sent, for the job's record."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        return False
    link = password_link(user, Purpose.RESET, base_url)
    send_onboarding_mail(
        user.email,
        "Reset your Clinic Portal password",
        "password_reset",
        user=user,
        link=link,
        lifetime=lifetime_words(Purpose.RESET),
    )
    record_event_for_each_agency("user.reset_requested", user, target=user.email)
    db.session.flush()
    return True


def user_from_link(purpose: Purpose, token: str) -> User:
    """The person a password link was made for, while it is unused and in its lifetime."""
    payload = read_token(purpose, token, EXPIRED[purpose])
    user_id = payload.get("u")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or payload.get("h") != _fingerprint(user):
        raise LinkNotValid("This link was already used, or a newer one was sent. Ask again.")
    return user


def set_password_from_link(user: User, purpose: Purpose, new: str) -> None:
    """Set the password a link was for; every session of the person ends."""
    _set_password(
        user, new, "user.reset_password" if purpose == Purpose.RESET else "user.set_password"
    )


def _set_password(user: User, new: str, action: str) -> None:
    check_new_password(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.end_sessions()
    record_event_for_each_agency(action, user, target=user.email)
    db.session.flush()


def _fingerprint(user: User) -> str:
    return secret_digest(f"{user.id}:{user.password_hash}")


def check_reset_throttle(email: str, address: str) -> None:
    """Reset requests are limited like sign-ins (per email and per address, the same numbers and
    window), counted in Redis; over the limit raises LoginThrottled. An email with no account is
    counted the same, so the answer still reveals nothing."""
    cfg = current_app.config
    window = cfg["LOGIN_LOCKOUT_MINUTES"] * 60
    limits = (
        (f"email:{normalise_email(email)}", cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
        (f"address:{address}", cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    )
    now, redis = time.time(), get_redis()
    waits = [_window_wait(redis, _key(name), limit, window, now) for name, limit in limits]
    if any(waits):
        raise LoginThrottled(max(1, math.ceil(max(waits) / 60)))
    for name, _limit in limits:
        key = _key(name)
        redis.zadd(key, {secrets.token_hex(8): now})
        redis.expire(key, window)


def _key(name: str) -> str:
    return "portal:reset-requests:" + hashlib.sha256(name.encode()).hexdigest()


def _window_wait(redis: Redis, key: str, limit: int, window: float, now: float) -> float:
    """Seconds until a request is allowed under `key` again (0: allowed now)."""
    redis.zremrangebyscore(key, 0, now - window)
    if redis.zcard(key) < limit:
        return 0.0
    oldest = redis.zrange(key, 0, 0, withscores=True)
    return max(1.0, float(oldest[0][1]) + window - now) if oldest else 0.0


def send_setup_link(user: User, agency: Agency, link: str) -> None:
    """Email the first admin the link that sets their password (from `flask create-admin`)."""
    send_onboarding_mail(
        user.email,
        f"Your Clinic Portal account for {agency.name}",
        "account_setup",
        user=user,
        agency=agency,
        link=link,
        lifetime=lifetime_words(Purpose.SETUP),
    )
