"""Payment terms: the due date a term gives an invoice [SPEC PaymentTerm; rules in assumptions]."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .store import Book, Record


def _day_in(year: int, month: int, day: int) -> date:
    return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))


def _next_month(day: date) -> tuple[int, int]:
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


def due_date(term: Record, issued: date) -> date:
    """DaysAfterIssue, DayOfMonth (rolling on when past) or DayOfNextMonth; weekends to Monday."""
    n, kind = int(term["netDueDay"]), term["netDueDaySelection"]
    if kind == "DayOfNextMonth":
        due = _day_in(*_next_month(issued), n)
    elif kind == "DayOfMonth":
        due = _day_in(issued.year, issued.month, n)
        if due < issued:
            due = _day_in(*_next_month(issued), n)
    else:
        due = issued + timedelta(days=n)
    if term.get("isDueDateWeekend") and due.weekday() >= 5:
        due += timedelta(days=7 - due.weekday())
    return due


def default_term(book: Book) -> Record | None:
    """The book's default payment term."""
    return next((t for t in book.terms.values() if t.get("isDefault")), None)
