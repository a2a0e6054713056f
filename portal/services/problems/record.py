"""Raise and auto-resolve problems: one record per fingerprint (clinic, family, subject).

Seen again, a problem's record is updated (last seen, count, title); a resolved one re-opens as a
regression. Every change of state is audited (by nobody, when the work itself did it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Clinic, Problem, ProblemState, Severity
from portal.models.types import utcnow
from portal.services.audit import record_event

from .kinds import SEVERITIES, ProblemKind


def fingerprint(clinic_id: int, kind: ProblemKind, subject: str) -> str:
    return hashlib.sha256(f"{clinic_id}\x1f{kind.family}\x1f{subject}".encode()).hexdigest()


def path_for(endpoint: str, **values: Any) -> str:
    """The path of a portal page, built without a request (jobs raise problems too)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def find_problem(clinic: Clinic, kind: ProblemKind, subject: str) -> Problem | None:
    stmt = select(Problem).where(Problem.fingerprint == fingerprint(clinic.id, kind, subject))
    return db.session.scalar(stmt)


def raise_problem(
    clinic: Clinic,
    kind: ProblemKind,
    subject: str,
    *,
    title: str,
    details: str = "",
    link: str = "",
    severity: Severity | None = None,
) -> Problem:
    """Record that this problem is happening now: new, seen again, or back after a fix."""
    severity = severity or SEVERITIES[kind]
    problem = find_problem(clinic, kind, subject)
    if problem is None:
        problem = _insert(clinic, kind, subject, severity)
        if problem.count == 0:  # ours: just made
            problem.count = 1
            _set_facts(problem, kind, title, details, link)
            _audit("problem.open", problem)
            db.session.flush()
            return problem
    problem.count += 1
    problem.last_seen = utcnow()
    _set_facts(problem, kind, title, details, link)
    if problem.state == ProblemState.RESOLVED:
        _reopen(problem)
    elif Severity(severity).rank < Severity(problem.severity).rank:
        problem.generation += 1  # more urgent than when it was last mailed: mail it again
    problem.severity = severity
    db.session.flush()
    return problem


def resolve_problem(clinic: Clinic, kind: ProblemKind, subject: str, why: str) -> Problem | None:
    """The work succeeded: resolve the problem, if there is an unresolved one."""
    problem = find_problem(clinic, kind, subject)
    if problem is None or problem.state == ProblemState.RESOLVED:
        return None
    resolve_automatically(problem, why)
    return problem


def resolve_automatically(problem: Problem, why: str) -> None:
    problem.state, problem.resolved_at, problem.resolved_by_id = (
        ProblemState.RESOLVED,
        utcnow(),
        None,
    )
    problem.resolution_note, problem.snoozed_until = f"Resolved automatically: {why}", None
    _audit("problem.resolve", problem, automatic=True, note=problem.resolution_note)
    db.session.flush()


def _insert(clinic: Clinic, kind: ProblemKind, subject: str, severity: Severity) -> Problem:
    """A new record, or the one another process made a moment ago (the fingerprint is unique)."""
    now = utcnow()
    problem = Problem(
        clinic_id=clinic.id,
        agency_id=clinic.agency_id,
        kind=kind,
        severity=severity,
        fingerprint=fingerprint(clinic.id, kind, subject),
        subject=subject[:200],
        title="",
        state=ProblemState.OPEN,
        first_seen=now,
        last_seen=now,
        opened_at=now,
        count=0,
        generation=1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(problem)
    except IntegrityError:
        existing = find_problem(clinic, kind, subject)
        assert existing is not None
        return existing
    return problem


def _set_facts(problem: Problem, kind: ProblemKind, title: str, details: str, link: str) -> None:
    problem.kind, problem.title, problem.details = kind, title[:300], details
    problem.link = link[:500] or problem.link


def _reopen(problem: Problem) -> None:
    problem.state = ProblemState.ASSIGNED if problem.assignee_id else ProblemState.OPEN
    problem.regression, problem.generation, problem.opened_at = (
        True,
        problem.generation + 1,
        utcnow(),
    )
    problem.resolved_at, problem.resolved_by_id, problem.resolution_note = None, None, ""
    problem.snoozed_until = None
    _audit("problem.reopen", problem, regression=True)


def _audit(action: str, problem: Problem, **detail: Any) -> None:
    record_event(
        action,
        None,
        clinic=problem.clinic or db.session.get(Clinic, problem.clinic_id),
        target=f"problem #{problem.id}",
        detail={"kind": problem.kind, "title": problem.title, **detail},
    )
