"""The password rules (ASVS 2.1): at least 12 characters, long passphrases welcome, and not
guessable — judged offline by zxcvbn, which knows common and breached passwords, names and
keyboard patterns, and is told the person's own email and name."""

from __future__ import annotations

from zxcvbn import zxcvbn

from portal.services import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # passphrases are welcome; the hash takes any length at the same cost
MIN_SCORE = 3  # zxcvbn's "safely unguessable: moderate protection from offline attacks"
_SCORED_PREFIX = 72  # zxcvbn refuses longer input (its work grows with length)


class WeakPassword(DomainError):
    """The password breaks a rule; the message says which and how to fix it."""


def check_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise WeakPassword unless `password` may be set for this person."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"Use at least {MIN_LENGTH} characters — a few unrelated words make a good one."
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    personal = [part for part in (email, email.split("@")[0], *name.split()) if part]
    verdict = zxcvbn(password[:_SCORED_PREFIX], user_inputs=personal)
    if verdict["score"] < MIN_SCORE:
        warning = verdict["feedback"].get("warning") or "This password is easy to guess."
        raise WeakPassword(
            f"{warning.rstrip('.')}. Add another word or two that are not about you."
        )
