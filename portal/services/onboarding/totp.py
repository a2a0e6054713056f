"""Two-step sign-in with a time-based code (TOTP, RFC 6238) for agency admins who turn it on.

Enrolment shows the secret and an otpauth:// URI as text (no QR image) and keeps nothing until
a code from the person's app proves it was copied right. A code is accepted once (the last time
step used is kept) and one step either side of now, for clocks that drift."""

from __future__ import annotations

import time

import pyotp

from portal.crypto import secret_box
from portal.extensions import db
from portal.models import Role, User
from portal.services import DomainError
from portal.services.audit import record_event_for_each_agency

ISSUER = "Clinic Portal"
DRIFT_STEPS = 1


def may_use_totp(user: User) -> bool:
    """Offered to agency admins; someone who has it on keeps it whatever their role becomes."""
    return user.uses_totp or any(m.role == Role.AGENCY_ADMIN for m in user.memberships)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def enable_totp(user: User, secret: str, code: str) -> None:
    """Turn two-step sign-in on with `secret`, once `code` shows the app has it."""
    if not may_use_totp(user):
        raise DomainError("Two-step sign-in is for agency admins.")
    if user.uses_totp:
        raise DomainError("Two-step sign-in is already on.")
    step = _matching_step(secret, code, after=None)
    if step is None:
        raise DomainError("That code does not match. Check the secret and your device's clock.")
    user.totp_sealed_secret = secret_box().seal({"totp": secret})
    user.totp_last_step = step
    _audit("user.totp_enable", user)


def disable_totp(user: User, code: str) -> None:
    """Turn it off; a current code is needed, so a left-open session alone cannot."""
    if not user.uses_totp:
        raise DomainError("Two-step sign-in is not on.")
    if not check_totp(user, code):
        raise DomainError("That code does not match.")
    user.totp_sealed_secret, user.totp_last_step = None, None
    _audit("user.totp_disable", user)


def reset_totp(user: User) -> None:
    """Turn it off without a code, for an operator (`flask reset-two-step`): a lost device."""
    user.totp_sealed_secret, user.totp_last_step = None, None
    _audit("user.totp_reset", user)


def check_totp(user: User, code: str) -> bool:
    """Whether `code` is the person's current code, not used before (it is used up now)."""
    if not user.totp_sealed_secret:
        return False
    secret = secret_box().open(user.totp_sealed_secret)["totp"]
    step = _matching_step(secret, code, after=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    db.session.flush()
    return True


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def _audit(action: str, user: User) -> None:
    record_event_for_each_agency(action, user, target=user.email)
    db.session.flush()
