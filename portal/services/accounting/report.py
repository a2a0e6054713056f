"""The mismatch report: read both sides for a period, store variances, carry open ones over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.clients.cliniko import ClinikoClient
from portal.clients.cliniko_models import Invoice
from portal.clients.parsing import to_date
from portal.clients.reckon import ReckonClient
from portal.clients.reckon_models import quote_filter
from portal.extensions import db
from portal.models import AccountingSettings, Clinic, MismatchLine, MismatchReport
from portal.services.accounting import map as m
from portal.services.accounting.compare import (
    Totals,
    Variance,
    add_cliniko,
    add_reckon,
    compare_invoice,
)
from portal.services.accounting.source import read_lines
from portal.services.problems.sources import note_mismatches
from portal.tenancy import owned

PREFIX = m.REFERENCE.format(number="")


def previous_open_lines(clinic: Clinic, before_id: int) -> list[MismatchLine]:
    """The unresolved lines of the clinic's latest finished report before this one."""
    last = db.session.scalar(
        owned(MismatchReport, clinic)
        .where(MismatchReport.id < before_id, MismatchReport.status == "done")
        .order_by(MismatchReport.id.desc())
        .limit(1)
    )
    if last is None:
        return []
    stmt = select(MismatchLine).where(MismatchLine.report_id == last.id, ~MismatchLine.resolved)
    return list(db.session.scalars(stmt))


def reckon_invoice_rows(reckon: ReckonClient, book_id: str) -> Iterator[dict[str, Any]]:
    """Raw invoice rows (with lines and tax codes, which the client's dataclass leaves out)."""
    return reckon.iter_invoice_records(book_id, f"reference startswith {quote_filter(PREFIX)}")


def _in(period: tuple[date, date], when: date | None) -> bool:
    return when is not None and period[0] <= when <= period[1]


def compare_books(
    clinic: Clinic,
    report: MismatchReport,
    settings: AccountingSettings,
    cliniko: ClinikoClient,
    reckon: ReckonClient,
    note: Callable[[str], None],
) -> list[Variance]:
    """Read both sides and return every variance in the period or carried over; fills totals."""
    period = (report.period_start, report.period_end)
    carried = {ln.reference for ln in previous_open_lines(clinic, report.id)}
    note("Reading Cliniko invoices…")
    invoices: dict[str, Invoice] = {}
    for inv in cliniko.iter_invoices(include_archived=True):
        ref = m.REFERENCE.format(number=inv.number)
        if _in(period, inv.issue_date) or ref in carried:
            invoices[ref] = inv
    lines = read_lines(cliniko, [i for i in invoices.values() if _in(period, i.issue_date)])
    note("Reading Reckon invoices…")
    rows: dict[str, dict[str, Any]] = {}
    for row in reckon_invoice_rows(reckon, settings.book_id):
        ref = str(row.get("reference") or "")
        if _in(period, to_date(row.get("invoiceDate"))) or ref in carried or ref in invoices:
            rows[ref] = row
    note("Comparing…")
    totals = Totals({})
    for inv in invoices.values():
        if _in(period, inv.issue_date):
            add_cliniko(totals, settings, inv, lines.get(inv.id, []))
    for row in rows.values():
        if _in(period, to_date(row.get("invoiceDate"))):
            add_reckon(totals, row)
    report.summary = {
        "totals": totals.rows(),
        "cliniko_invoices": len(invoices),
        "reckon_invoices": len(rows),
    }
    found: list[Variance] = []
    for ref in sorted(invoices.keys() | rows.keys()):
        found += compare_invoice(ref, invoices.get(ref), rows.get(ref))
    return found


def store_variances(clinic: Clinic, report: MismatchReport, found: list[Variance]) -> None:
    """Save the variances; the last report's open ones carry over or are marked resolved."""
    previous = {(ln.kind, ln.reference): ln for ln in previous_open_lines(clinic, report.id)}
    for v in found:
        old = previous.pop((v.kind, v.reference), None)
        line = MismatchLine(clinic_id=clinic.id, report_id=report.id, **asdict(v))
        if old is not None:
            line.first_seen_at, line.carried_over = old.first_seen_at, True
        db.session.add(line)
    for old in previous.values():
        fields = {k: getattr(old, k) for k in ("kind", "reference", "cliniko_id", "reckon_id")}
        db.session.add(
            MismatchLine(
                clinic_id=clinic.id,
                report_id=report.id,
                issue_date=old.issue_date,
                message="Resolved since the last report.",
                first_seen_at=old.first_seen_at,
                carried_over=True,
                resolved=True,
                **fields,
            )
        )
    report.open_count = len(found)
    report.resolved_count = len(previous)
    report.status = "done"
    note_mismatches(clinic, report)
    db.session.flush()
