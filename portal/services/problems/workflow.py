"""People handling problems: assign, snooze, resolve with a note (one or many at once). Each
change of state is audited; the caller has checked that the person may act in those clinics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from portal.extensions import db
from portal.models import Problem, ProblemState, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event

MAX_SNOOZE_DAYS = 365


def _audit(action: str, actor: User, problem: Problem, **detail: object) -> None:
    record_event(
        action,
        actor,
        clinic=problem.clinic,
        target=f"problem #{problem.id}",
        detail={"kind": problem.kind, "title": problem.title, **detail},
    )


def _open_only(problems: Sequence[Problem]) -> list[Problem]:
    if not problems:
        raise DomainError("Choose at least one problem.")
    return [p for p in problems if p.state != ProblemState.RESOLVED]


def assign_problems(problems: Sequence[Problem], actor: User, assignee: User | None) -> int:
    """Give each unresolved problem to `assignee` (None: nobody); how many changed."""
    changed = 0
    for problem in _open_only(problems):
        if problem.assignee_id == (assignee.id if assignee else None):
            continue
        problem.assignee_id = assignee.id if assignee else None
        if problem.state != ProblemState.SNOOZED:
            problem.state = ProblemState.ASSIGNED if assignee else ProblemState.OPEN
        who = assignee.name if assignee else ""
        _audit("problem.assign", actor, problem, assignee=who)
        changed += 1
    db.session.flush()
    return changed


def snooze_problems(problems: Sequence[Problem], actor: User, until: datetime) -> int:
    """Hide each unresolved problem from the open view until `until`."""
    now = utcnow()
    if until <= now:
        raise DomainError("Snooze until a time in the future.")
    if (until - now).days > MAX_SNOOZE_DAYS:
        raise DomainError(f"Snooze for at most {MAX_SNOOZE_DAYS} days.")
    targets = _open_only(problems)
    for problem in targets:
        problem.state, problem.snoozed_until = ProblemState.SNOOZED, until
        _audit("problem.snooze", actor, problem, until=until.isoformat())
    db.session.flush()
    return len(targets)


def resolve_problems(problems: Sequence[Problem], actor: User, note: str) -> int:
    """Resolve each unresolved problem by hand, saying why (it re-opens if it happens again)."""
    note = note.strip()
    if not note:
        raise DomainError("Say how it was resolved: the note is kept with the problem.")
    targets = _open_only(problems)
    for problem in targets:
        problem.state, problem.resolved_at, problem.resolved_by_id = (
            ProblemState.RESOLVED,
            utcnow(),
            actor.id,
        )
        problem.resolution_note, problem.snoozed_until = note[:2000], None
        _audit("problem.resolve", actor, problem, note=note[:500])
    db.session.flush()
    return len(targets)


def wake_snoozed(now: datetime | None = None) -> int:
    """Snoozes that have run out: back to open (or assigned); how many woke."""
    now = now or utcnow()
    woken = list(
        db.session.scalars(
            db.select(Problem).where(
                Problem.state == ProblemState.SNOOZED, Problem.snoozed_until <= now
            )
        )
    )
    for problem in woken:
        problem.state = ProblemState.ASSIGNED if problem.assignee_id else ProblemState.OPEN
        problem.snoozed_until = None
        record_event(
            "problem.wake",
            None,
            clinic=problem.clinic,
            target=f"problem #{problem.id}",
            detail={"kind": problem.kind, "title": problem.title},
        )
    db.session.flush()
    return len(woken)
