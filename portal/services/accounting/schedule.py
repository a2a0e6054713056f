"""Schedules: run the accounting sync or the mismatch report daily or weekly at a local time, or
keep the sync going every few minutes ("keep in sync": an incremental read since the watermark)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.extensions import db
from portal.models import AccountingSchedule, Clinic, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event
from portal.tenancy import owned

KINDS = {"accounting.sync": "Accounting sync", "accounting.report": "Mismatch report"}
SYNC = "accounting.sync"
CONTINUOUS = "minutes"  # the frequency of "keep in sync"
MIN_MINUTES, MAX_MINUTES = 1, 720
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def next_run_at(schedule: AccountingSchedule, clinic: Clinic, after: datetime) -> datetime:
    """The first local run time strictly after `after`, in UTC (DST-aware via zoneinfo); for
    "keep in sync", `every_minutes` after it."""
    if schedule.frequency == CONTINUOUS:
        return after + timedelta(minutes=schedule.every_minutes or 5)
    tz = ZoneInfo(clinic.timezone)
    hour, minute = (int(x) for x in schedule.local_time.split(":"))
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(8):
        candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
        weekday_ok = schedule.frequency == "daily" or candidate.weekday() == schedule.weekday
        if weekday_ok and candidate > local:
            return candidate.astimezone(ZoneInfo("UTC"))
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week always has the weekday")


def schedules_of(clinic: Clinic) -> dict[str, AccountingSchedule | None]:
    rows = {s.kind: s for s in db.session.scalars(owned(AccountingSchedule, clinic))}
    return {kind: rows.get(kind) for kind in KINDS}


def save_schedule(
    clinic: Clinic,
    actor: User,
    kind: str,
    frequency: str,
    weekday: int,
    local_time: str,
    enabled: bool,
    every_minutes: int = 5,
) -> AccountingSchedule:
    """Create or change a schedule and compute its next run."""
    if kind not in KINDS or frequency not in ("daily", "weekly", CONTINUOUS):
        raise DomainError("Choose the sync or the report, daily, weekly or every few minutes.")
    if frequency == CONTINUOUS and kind != SYNC:
        raise DomainError("Only the sync can be kept going every few minutes.")
    if not MIN_MINUTES <= every_minutes <= MAX_MINUTES:
        raise DomainError(f"Every {MIN_MINUTES} to {MAX_MINUTES} minutes.")
    row = schedules_of(clinic)[kind]
    if row is None:
        row = AccountingSchedule(clinic_id=clinic.id, kind=kind)
        db.session.add(row)
    row.frequency, row.weekday, row.local_time, row.enabled = (
        frequency,
        weekday,
        local_time,
        enabled,
    )
    row.every_minutes = every_minutes
    row.next_run_at = next_run_at(row, clinic, utcnow()) if enabled else None
    db.session.flush()
    detail = {"frequency": frequency, "time": local_time, "enabled": enabled}
    if frequency == CONTINUOUS:
        detail["every_minutes"] = every_minutes
    record_event("accounting.schedule", actor, clinic=clinic, target=kind, detail=detail)
    return row


def run_params(schedule: AccountingSchedule) -> dict[str, bool]:
    """What a scheduled run is told: a "keep in sync" run is a continuous one."""
    return {"continuous": True} if schedule.frequency == CONTINUOUS else {}


def due_schedules(now: datetime) -> list[AccountingSchedule]:
    """Enabled schedules whose time has come, across every clinic (the tick runs them)."""
    stmt = select(AccountingSchedule).where(
        AccountingSchedule.enabled, AccountingSchedule.next_run_at <= now
    )
    return list(
        db.session.scalars(stmt.order_by(AccountingSchedule.next_run_at, AccountingSchedule.id))
    )
