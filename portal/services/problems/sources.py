"""What the work reports: each producer calls one of these where its work ends, and they raise
the problem or resolve it. Runs, connection checks, reconciliation plans and applies, and the
mismatch report report their own outcome here."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Clinic,
    Connection,
    ConnectionStatus,
    ItemOutcome,
    JobItem,
    JobRun,
    JobStatus,
    MismatchReport,
    Problem,
    ProblemState,
    Provider,
    Severity,
)
from portal.models.reconciliation import ReconciliationBatch, RowClass

from .kinds import ProblemKind
from .record import fingerprint, path_for, raise_problem, resolve_problem

# A failed run of these job kinds is critical (mailed at once): money or the books are stuck.
# Named here, not imported from portal.jobs, which services never import.
CRITICAL_RUN_KINDS = frozenset({"accounting.sync", "reconciliation.apply", "vouchers.provision"})
RUN_KINDS = {
    JobStatus.FAILED: ProblemKind.RUN_FAILED,
    JobStatus.PARTIAL: ProblemKind.RUN_PARTIAL,
    JobStatus.INTERRUPTED: ProblemKind.RUN_INTERRUPTED,
}
FAILED_ITEMS_SHOWN = 10


def note_run_outcome(run: JobRun, *, retrying: bool = False) -> None:
    """A run ended: a success resolves its kind's problem in the clinic, a failure raises it."""
    clinic = run.clinic
    if run.status == JobStatus.SUCCEEDED:
        resolve_problem(clinic, ProblemKind.RUN_FAILED, run.kind, f"run #{run.id} succeeded")
        return
    kind = RUN_KINDS.get(JobStatus(run.status))
    if kind is None:  # cancelled: a person stopped it, nothing went wrong
        return
    severity = None
    if kind == ProblemKind.RUN_FAILED and run.kind in CRITICAL_RUN_KINDS and not retrying:
        severity = Severity.CRITICAL
    raise_problem(
        clinic,
        kind,
        run.kind,
        title=_run_title(run, kind, retrying),
        details=_run_details(run),
        link=path_for("jobs.show", clinic=clinic.slug, run_id=run.id),
        severity=severity,
    )


def note_runs_interrupted(run_ids: Iterable[int]) -> None:
    """Runs the stale-run sweep marked interrupted (their worker died)."""
    ids = list(run_ids)
    if ids:
        for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(ids))):
            note_run_outcome(run)


def _run_title(run: JobRun, kind: ProblemKind, retrying: bool) -> str:
    if kind == ProblemKind.RUN_INTERRUPTED:
        return f"{run.title} was interrupted (run #{run.id}): retry it to finish"
    if kind == ProblemKind.RUN_PARTIAL:
        return f"{run.title} finished with {run.failed_count} failed item(s) (run #{run.id})"
    later = ": it is retried automatically" if retrying else ""
    return f"{run.title} failed (run #{run.id}){later}"


def _run_details(run: JobRun) -> str:
    failed = db.session.scalars(
        select(JobItem)
        .where(JobItem.run_id == run.id, JobItem.outcome == ItemOutcome.FAILED)
        .order_by(JobItem.id)
        .limit(FAILED_ITEMS_SHOWN)
    )
    lines = [run.message] + [f"- {i.label}: {i.message}" for i in failed]
    if run.failed_count > FAILED_ITEMS_SHOWN:
        lines.append(f"… and {run.failed_count - FAILED_ITEMS_SHOWN} more failed items.")
    return "\n".join(line for line in lines if line)


def note_connection_health(conn: Connection) -> None:
    """A connection was checked (or used): its health raises or resolves its problem."""
    clinic = conn.clinic or db.session.get(Clinic, conn.clinic_id)
    assert clinic is not None
    provider = Provider(conn.provider)
    status = ConnectionStatus(conn.status)
    if status in (ConnectionStatus.OK, ConnectionStatus.NOT_LINKED):
        why = "it answered" if status == ConnectionStatus.OK else "it was unlinked"
        resolve_problem(clinic, ProblemKind.CONNECTION_FAILING, provider, why)
        return
    link = path_for("connections.index", clinic=clinic.slug) + f"#conn-{provider.value}"
    if status == ConnectionStatus.RECONNECT_NEEDED:
        kind, title = ProblemKind.CONNECTION_RECONNECT, f"Reconnect {provider.label}"
        title += ": it no longer accepts the portal's credentials"
    else:
        kind, title = ProblemKind.CONNECTION_FAILING, f"{provider.label} is not answering"
    raise_problem(clinic, kind, provider, title=title, details=conn.last_error, link=link)


def note_connection_states(clinic: Clinic) -> None:
    """The stored health of each of the clinic's connections, after a run: a check recorded in
    its own transaction (the run failed and rolled back) still gets its problem this way. Two
    queries when nothing changed (the connections, their problems), whatever their number."""
    conns = list(db.session.scalars(select(Connection).where(Connection.clinic_id == clinic.id)))
    fingerprints = {
        fingerprint(clinic.id, ProblemKind.CONNECTION_FAILING, c.provider): c.provider
        for c in conns
    }
    open_for = {
        fingerprints[p.fingerprint]
        for p in db.session.scalars(select(Problem).where(Problem.fingerprint.in_(fingerprints)))
        if p.state != ProblemState.RESOLVED
    }
    for conn in conns:
        unhealthy = conn.status in (ConnectionStatus.FAILING, ConnectionStatus.RECONNECT_NEEDED)
        if unhealthy == (conn.provider in open_for):
            continue  # already recorded where the check happened, or healthy with nothing open
        note_connection_health(conn)


ROW_KINDS = {
    RowClass.UNKNOWN: (ProblemKind.ROWS_UNKNOWN, "have a voucher code VaocherApp does not know"),
    RowClass.AMBIGUOUS: (ProblemKind.ROWS_AMBIGUOUS, "are ambiguous and need a look"),
    RowClass.INVALID: (ProblemKind.ROWS_INVALID, "could not be read"),
}


def _export_subject(batch: ReconciliationBatch) -> str:
    """The same export uploaded again is the same problem (its rows are already recorded)."""
    return f"export:{batch.sha256}" if batch.sha256 else f"batch:{batch.id}"


def note_plan_outcome(batch: ReconciliationBatch, totals: dict) -> None:
    """A plan was made (or changed): rows it could not plan are a problem per class."""
    clinic = db.session.get(Clinic, batch.clinic_id)
    assert clinic is not None
    for row_class, (kind, words) in ROW_KINDS.items():
        rows = int(totals.get(row_class, {}).get("rows", 0))
        subject = _export_subject(batch)
        if not rows:
            resolve_problem(clinic, kind, subject, "the latest plan of this export has none")
            continue
        title = f"{rows} row(s) of {batch.filename or 'the export'} {words}"
        where = {"clinic": clinic.slug, "batch_id": batch.id, "class": row_class.value}
        raise_problem(
            clinic, kind, subject, title=title, link=path_for("reconciliation.show", **where)
        )


def note_apply_outcome(batch: ReconciliationBatch, failed: int, cancelled: bool) -> None:
    """An apply ended: failed redeems are a problem until a retry does them."""
    clinic = db.session.get(Clinic, batch.clinic_id)
    assert clinic is not None
    subject = _export_subject(batch)
    if failed:
        title = f"{failed} step(s) of {batch.filename or 'the export'} failed to apply"
        link = path_for("reconciliation.show", clinic=clinic.slug, batch_id=batch.id)
        raise_problem(clinic, ProblemKind.ROWS_FAILED, subject, title=title, link=link)
    elif not cancelled:
        resolve_problem(clinic, ProblemKind.ROWS_FAILED, subject, "every step was applied")


def note_mismatches(clinic: Clinic, report: MismatchReport) -> None:
    """A mismatch report finished: open differences are one problem for the clinic's books."""
    if not report.open_count:
        resolve_problem(clinic, ProblemKind.MISMATCH, "books", f"report #{report.id} agrees")
        return
    raise_problem(
        clinic,
        ProblemKind.MISMATCH,
        "books",
        title=f"{report.open_count} difference(s) between Cliniko and Reckon",
        details=f"Mismatch report #{report.id}, {report.period_start} to {report.period_end}.",
        link=path_for("accounting.report", clinic=clinic.slug, report_id=report.id),
    )
