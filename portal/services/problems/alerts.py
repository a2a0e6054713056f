"""Who is told about which problem, and when: at once (critical by default) or in a daily digest
at the person's local time, or not at all; mailed from the worker, at most once per person and
problem generation.

Idempotence: a message is sent first and its `ProblemMailing` rows are committed right after it,
one message at a time, so a crash between the SMTP server's "accepted" and that commit can at
worst send that one message again (never more, never a problem twice otherwise). A Redis lock keeps
two senders (the tick and `flask send-digests`) from mailing the same thing at once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal.extensions import db, get_redis
from portal.models import (
    AlertMode,
    AlertPreference,
    Clinic,
    Membership,
    Problem,
    ProblemMailing,
    Role,
    Severity,
    User,
)
from portal.models.types import utcnow
from portal.services.audit import record_event
from portal.services.mail import mail_configured, send_message
from portal.services.timezones import user_timezone

from .inbox import is_active
from .kinds import kind_label

log = logging.getLogger(__name__)
DEFAULT_DIGEST_TIME = "08:00"
LOCK = "portal:alerts:send"
BASE_URL_KEY = "portal:alerts:base-url"


def default_modes(roles: Iterable[Role]) -> dict[str, str]:
    """Viewers hear nothing; everyone else gets critical problems at once, the rest digested."""
    if set(roles) <= {Role.VIEWER}:
        return {s.value: AlertMode.OFF for s in Severity}
    return {
        Severity.CRITICAL: AlertMode.IMMEDIATE,
        Severity.WARNING: AlertMode.DIGEST,
        Severity.INFO: AlertMode.DIGEST,
    }


def next_digest_at(pref: AlertPreference, after: datetime) -> datetime:
    """The first time strictly after `after` when the clock in the person's zone shows their
    digest time (a new person's first digest is at the next occurrence)."""
    zone = ZoneInfo(pref.timezone)
    hour, minute = (int(part) for part in pref.digest_time.split(":"))
    local = after.astimezone(zone)
    for days in range(3):
        candidate = datetime.combine(local.date() + timedelta(days=days), time(hour, minute), zone)
        if candidate > local:
            return candidate.astimezone(ZoneInfo("UTC"))
    raise AssertionError("unreachable: a clock time comes round within two days")


def preference_for(user: User, now: datetime | None = None) -> AlertPreference:
    """The person's alert settings, made with their role's defaults the first time."""
    pref = db.session.scalar(select(AlertPreference).where(AlertPreference.user_id == user.id))
    if pref is None:
        modes = default_modes(Role(m.role) for m in user.memberships)
        pref = AlertPreference(
            user_id=user.id,
            timezone=user_timezone(user),
            digest_time=DEFAULT_DIGEST_TIME,
            critical_mode=modes[Severity.CRITICAL],
            warning_mode=modes[Severity.WARNING],
            info_mode=modes[Severity.INFO],
            kind_modes={},
        )
        pref.next_digest_at = next_digest_at(pref, now or utcnow())
        db.session.add(pref)
        db.session.flush()
    return pref


def mode_for(pref: AlertPreference, problem: Problem) -> AlertMode:
    chosen = (pref.kind_modes or {}).get(problem.kind)
    if chosen in set(AlertMode):
        return AlertMode(chosen)
    by_severity = {
        Severity.CRITICAL: pref.critical_mode,
        Severity.WARNING: pref.warning_mode,
        Severity.INFO: pref.info_mode,
    }
    return AlertMode(by_severity.get(Severity(problem.severity), AlertMode.DIGEST))


def _visible_clinic_ids(user: User) -> set[int]:
    admin_of = [m.agency_id for m in user.memberships if m.role == Role.AGENCY_ADMIN]
    ids = {m.clinic_id for m in user.memberships if m.clinic_id is not None}
    if admin_of:
        ids |= set(db.session.scalars(select(Clinic.id).where(Clinic.agency_id.in_(admin_of))))
    return ids


def pending_for(user: User, pref: AlertPreference, mode: AlertMode, now: datetime) -> list[Problem]:
    """Problems needing attention in the person's clinics, in this mode, not yet mailed to them
    in their current generation; most severe, then oldest, first."""
    clinic_ids = _visible_clinic_ids(user)
    if not clinic_ids:
        return []
    active = list(
        db.session.scalars(
            select(Problem)
            .where(Problem.clinic_id.in_(clinic_ids), is_active(now))
            .order_by(Problem.clinic_id, Problem.opened_at, Problem.id)
        )
    )
    stmt = select(ProblemMailing.problem_id, ProblemMailing.generation).where(
        ProblemMailing.user_id == user.id, ProblemMailing.problem_id.in_([p.id for p in active])
    )
    mailed = {(problem_id, generation) for problem_id, generation in db.session.execute(stmt)}
    return [p for p in active if (p.id, p.generation) not in mailed and mode_for(pref, p) == mode]


def remember_base_url(url: str) -> None:
    """The address people reach the portal at, for links in mail when PUBLIC_BASE_URL is unset."""
    redis = get_redis()
    if redis.get(BASE_URL_KEY) != url.encode():
        redis.set(BASE_URL_KEY, url)


def base_url() -> str:
    configured = current_app.config.get("PUBLIC_BASE_URL") or ""
    if configured:
        return configured.rstrip("/")
    remembered = get_redis().get(BASE_URL_KEY)
    if isinstance(remembered, bytes):
        return remembered.decode().rstrip("/")
    return "http://localhost"


@dataclass
class Sent:
    immediate: int = 0
    digests: int = 0


def send_due_alerts(now: datetime | None = None, *, immediate: bool = True) -> Sent:
    """Send what is due now (immediate alerts, and digests whose time has come); commits."""
    sent = Sent()
    if not mail_configured():
        return sent
    lock = get_redis().lock(LOCK, timeout=600, blocking_timeout=0)
    if not lock.acquire():
        log.info("another process is sending alerts; leaving it to that one")
        return sent
    try:
        now = now or utcnow()
        for user in _people_with_memberships():
            pref = preference_for(user, now)
            db.session.commit()
            if immediate:
                sent.immediate += _send_immediate(user, pref, now)
            if pref.next_digest_at is not None and pref.next_digest_at <= now:
                sent.digests += _send_digest(user, pref, now)
    finally:
        lock.release()
    return sent


def _people_with_memberships() -> list[User]:
    stmt = select(User).join(Membership).where(User.active.is_(True)).distinct().order_by(User.id)
    return list(db.session.scalars(stmt))


def _render(template: str, **context: object) -> str:
    """Mail templates, rendered without the page context (no request, no signed-in person)."""
    return current_app.jinja_env.get_template(f"mail/{template}").render(**context)


def _record(user: User, problems: Iterable[Problem], channel: str) -> None:
    for p in problems:
        db.session.add(
            ProblemMailing(
                problem_id=p.id, user_id=user.id, generation=p.generation, channel=channel
            )
        )


def _send_immediate(user: User, pref: AlertPreference, now: datetime) -> int:
    count = 0
    for problem in pending_for(user, pref, AlertMode.IMMEDIATE, now):
        subject = f"[{problem.severity.capitalize()}] {problem.clinic.name}: {problem.title}"
        context = {"problem": problem, "user": user, "base": base_url(), "kind_label": kind_label}
        send_message(
            user.email,
            subject[:200],
            _render("problem.txt", **context),
            _render("problem.html", **context),
        )
        _record(user, [problem], AlertMode.IMMEDIATE)
        db.session.commit()  # right after the send: see the module docstring
        count += 1
    return count


def _send_digest(user: User, pref: AlertPreference, now: datetime) -> int:
    problems = pending_for(user, pref, AlertMode.DIGEST, now)
    pref.next_digest_at = next_digest_at(pref, now)
    if problems:
        by_clinic: dict[Clinic, list[Problem]] = defaultdict(list)
        for p in sorted(problems, key=lambda p: (Severity(p.severity).rank, p.opened_at)):
            by_clinic[p.clinic].append(p)
        groups = sorted(by_clinic.items(), key=lambda kv: kv[0].name)
        context = {"groups": groups, "user": user, "base": base_url(), "kind_label": kind_label}
        count = len(problems)
        send_message(
            user.email,
            f"Clinic Portal digest: {count} problem{'s' if count != 1 else ''} need attention",
            _render("digest.txt", **context),
            _render("digest.html", **context),
        )
        _record(user, problems, AlertMode.DIGEST)
        pref.last_digest_at = now
    db.session.commit()
    return 1 if problems else 0


def save_alert_settings(
    user: User,
    *,
    timezone: str,
    digest_time: str,
    modes: tuple[str | None, str | None, str | None],
    kind_modes: dict[str, str],
) -> AlertPreference:
    """Save the person's choices; the next digest moves to the next occurrence of the new time."""
    pref = preference_for(user)
    pref.timezone, pref.digest_time = timezone, digest_time
    critical, warning, info = (AlertMode(m or AlertMode.DIGEST) for m in modes)
    pref.critical_mode, pref.warning_mode, pref.info_mode = critical, warning, info
    pref.kind_modes = {k: AlertMode(v).value for k, v in kind_modes.items()}
    pref.next_digest_at = next_digest_at(pref, utcnow())
    record_event(
        "alerts.settings",
        user,
        target=user.email,
        detail={
            "timezone": timezone,
            "digest_time": digest_time,
            "modes": [critical, warning, info],
        },
    )
    db.session.flush()
    return pref
