"""The inbox: which problems a person sees, filtered, sorted by severity then age, and counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from portal.extensions import db
from portal.models import Problem, ProblemState, Severity, User
from portal.models.types import utcnow

AGES = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
VIEWS = ("open", "snoozed", "resolved", "all")


@dataclass(frozen=True)
class InboxFilters:
    clinic_ids: tuple[int, ...] = ()  # among the visible ones; empty: all of them
    kind: str = ""
    severity: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    age: str = ""  # older than: "1d", "7d", "30d"
    view: str = "open"  # open (not resolved, not snoozed now), snoozed, resolved, all


def is_active(now: datetime) -> ColumnElement[bool]:
    """Needs attention now: not resolved, and not snoozed (or its snooze has run out)."""
    return and_(
        Problem.state != ProblemState.RESOLVED,
        or_(
            Problem.state != ProblemState.SNOOZED,
            Problem.snoozed_until.is_(None),
            Problem.snoozed_until <= now,
        ),
    )


def _view(view: str, now: datetime) -> ColumnElement[bool] | None:
    if view == "snoozed":
        return and_(Problem.state == ProblemState.SNOOZED, Problem.snoozed_until > now)
    if view == "resolved":
        return Problem.state == ProblemState.RESOLVED
    if view == "all":
        return None
    return is_active(now)


SEVERITY_ORDER = case({s.value: s.rank for s in Severity}, value=Problem.severity, else_=9)


def inbox_query(visible: Sequence[int], f: InboxFilters, me: User) -> Select[Any]:
    """The problems of the `visible` clinic ids that match `f`: most severe, then oldest, first."""
    now = utcnow()
    wanted = [c for c in f.clinic_ids if c in visible] if f.clinic_ids else list(visible)
    stmt = select(Problem).where(Problem.clinic_id.in_(wanted))
    view = _view(f.view, now)
    if view is not None:
        stmt = stmt.where(view)
    if f.kind:
        stmt = stmt.where(Problem.kind == f.kind)
    if f.severity:
        stmt = stmt.where(Problem.severity == f.severity)
    if f.assignee == "me":
        stmt = stmt.where(Problem.assignee_id == me.id)
    elif f.assignee == "none":
        stmt = stmt.where(Problem.assignee_id.is_(None))
    elif f.assignee.isdigit():
        stmt = stmt.where(Problem.assignee_id == int(f.assignee))
    if f.age in AGES:
        stmt = stmt.where(Problem.opened_at <= now - AGES[f.age])
    return stmt.order_by(SEVERITY_ORDER, Problem.opened_at, Problem.id)


def active_counts(clinic_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Problems needing attention now, by (clinic id, kind), in one grouped query."""
    if not clinic_ids:
        return {}
    stmt = (
        select(Problem.clinic_id, Problem.kind, func.count())
        .where(Problem.clinic_id.in_(list(clinic_ids)), is_active(utcnow()))
        .group_by(Problem.clinic_id, Problem.kind)
    )
    return {(clinic_id, kind): int(n) for clinic_id, kind, n in db.session.execute(stmt)}


def problems_by_ids(visible: Sequence[int], ids: Sequence[int]) -> list[Problem]:
    """The chosen problems, only among the visible clinics (others are silently not there)."""
    if not ids or not visible:
        return []
    stmt = select(Problem).where(Problem.id.in_(list(ids)), Problem.clinic_id.in_(list(visible)))
    return list(db.session.scalars(stmt.order_by(Problem.id)))
