"""The mismatch report job: compare Cliniko and Reckon for a period and store every variance."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.models import MismatchReport
from portal.models.types import utcnow
from portal.services.accounting.report import compare_books, store_variances
from portal.services.accounting.setup import open_sync

from .context import RunContext, WorkItem
from .kind import JobKind

KIND = "accounting.report"
DEFAULT_DAYS = 90  # a scheduled report looks back this far unless a period is given


def report_period(params: dict, timezone: str = "UTC") -> tuple[date, date]:
    """The period from the run's params, else the last DEFAULT_DAYS days to the clinic's today."""
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    end = date.fromisoformat(params["end"]) if params.get("end") else today
    start = (
        date.fromisoformat(params["start"])
        if params.get("start")
        else end - timedelta(days=DEFAULT_DAYS)
    )
    return start, end


def run_accounting_report(ctx: RunContext) -> None:
    env, cliniko = open_sync(ctx.clinic, checkpoint=db.session.commit, writes=False)
    start, end = report_period(ctx.params, ctx.clinic.timezone)
    report = MismatchReport(
        clinic_id=ctx.clinic.id, run_id=ctx.run_id, period_start=start, period_end=end, summary={}
    )
    db.session.add(report)
    db.session.commit()

    def compare(item: WorkItem) -> str:
        found = compare_books(ctx.clinic, report, env, cliniko, lambda msg: ctx.note(msg))
        store_variances(ctx.clinic, report, found)
        db.session.commit()
        return f"{report.open_count} open differences, {report.resolved_count} resolved."

    try:
        label = f"Cliniko vs Reckon, {start} to {end}"
        ctx.process([WorkItem(ref=f"report:{report.id}", label=label)], compare)
    finally:
        cliniko.close()
        env.reckon.close()
    if report.status != "done":
        report.status = "failed"
        db.session.commit()


REPORT_KIND = JobKind(KIND, "Mismatch report", run_accounting_report)
