"""The agency dashboard's row per clinic: what needs attention, the books' last sync and next
run, and the vouchers' liability and soon-expiring count. A fixed handful of grouped queries
for all the clinics together (one more per distinct expiry window), never one per clinic."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from portal.extensions import db
from portal.models import AccountingSchedule, Clinic, Connection, JobRun, Voucher
from portal.models.types import utcnow

from .inbox import active_counts
from .kinds import kind_label

SYNC = "accounting.sync"


@dataclass
class ClinicOverview:
    clinic: Clinic
    chips: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, label, count)
    last_sync: JobRun | None = None
    next_run_at: datetime | None = None
    next_run_kind: str = ""
    liability_cents: int = 0
    expiring: int = 0
    connections: dict[str, str] = field(default_factory=dict)  # provider → status

    @property
    def attention(self) -> int:
        return sum(n for _, _, n in self.chips)


def clinic_overview(clinics: Sequence[Clinic]) -> list[ClinicOverview]:
    """One row per clinic, the clinics needing most attention first."""
    rows = {c.id: ClinicOverview(c) for c in clinics}
    ids = list(rows)
    if not ids:
        return []
    for (clinic_id, kind), n in sorted(active_counts(ids).items()):
        rows[clinic_id].chips.append((kind, kind_label(kind), n))
    _last_syncs(rows, ids)
    _next_runs(rows, ids)
    _vouchers(rows, clinics)
    for conn in db.session.scalars(select(Connection).where(Connection.clinic_id.in_(ids))):
        rows[conn.clinic_id].connections[conn.provider] = conn.status
    return sorted(rows.values(), key=lambda r: (-r.attention, r.clinic.name))


def _last_syncs(rows: dict[int, ClinicOverview], ids: list[int]) -> None:
    latest = (
        select(func.max(JobRun.id))
        .where(JobRun.clinic_id.in_(ids), JobRun.kind == SYNC)
        .group_by(JobRun.clinic_id)
    )
    for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(latest))):
        rows[run.clinic_id].last_sync = run


def _next_runs(rows: dict[int, ClinicOverview], ids: list[int]) -> None:
    stmt = select(AccountingSchedule).where(
        AccountingSchedule.clinic_id.in_(ids),
        AccountingSchedule.enabled.is_(True),
        AccountingSchedule.next_run_at.is_not(None),
    )
    for schedule in db.session.scalars(stmt):
        row = rows[schedule.clinic_id]
        if row.next_run_at is None or (schedule.next_run_at or row.next_run_at) < row.next_run_at:
            row.next_run_at, row.next_run_kind = schedule.next_run_at, schedule.kind


def _vouchers(rows: dict[int, ClinicOverview], clinics: Sequence[Clinic]) -> None:
    now = utcnow()
    active = and_(Voucher.clinic_id.in_(list(rows)), Voucher.status == "active")
    liability = select(Voucher.clinic_id, func.coalesce(func.sum(Voucher.balance_cents), 0))
    for clinic_id, cents in db.session.execute(liability.where(active).group_by(Voucher.clinic_id)):
        rows[clinic_id].liability_cents = int(cents)
    by_window: dict[int, list[int]] = defaultdict(list)
    for clinic in clinics:
        by_window[clinic.expiry_window_days].append(clinic.id)
    for days, clinic_ids in by_window.items():
        soon = select(Voucher.clinic_id, func.count()).where(
            Voucher.clinic_id.in_(clinic_ids),
            Voucher.status == "active",
            Voucher.expires_at >= now,
            Voucher.expires_at <= now + timedelta(days=days),
        )
        for clinic_id, n in db.session.execute(soon.group_by(Voucher.clinic_id)):
            rows[clinic_id].expiring = int(n)
