"""The table of job kinds: every kind a run may have, by name (in the order pages list them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import accounting_report, accounting_sync, connection_checks, demo, reconciliation, vouchers
from .kind import JobKind
from .queue import Priority

if TYPE_CHECKING:
    from portal.models import JobRun

KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        connection_checks.CHECK_KIND,
        demo.DEMO_KIND,
        reconciliation.PLAN_KIND,
        reconciliation.APPLY_KIND,
        vouchers.INTAKE_KIND,
        vouchers.PROVISION_KIND,
        vouchers.BACKFILL_KIND,
        accounting_report.REPORT_KIND,
        accounting_sync.PREVIEW_KIND,
        accounting_sync.SYNC_KIND,
    )
}


def available_kinds(demo_mode: bool) -> list[JobKind]:
    return [k for k in KINDS.values() if demo_mode or not k.demo_only]


def priority_of(run: JobRun) -> Priority:
    """Interactive when a person started the run or its kind is always awaited; else bulk."""
    kind = KINDS.get(run.kind)
    if run.user_id is not None or (kind is not None and kind.interactive):
        return Priority.INTERACTIVE
    return Priority.BULK


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None
