"""The mismatch report: read both sides for a period, store variances, carry open ones over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.clients.cliniko import ClinikoClient
from portal.clients.cliniko_models import Invoice
from portal.clients.parsing import to_date
from portal.clients.reckon import ReckonClient
from portal.clients.reckon_models import quote_filter
from portal.extensions import db
from portal.models import (
    Clinic,
    EntityKind,
    MismatchLine,
    MismatchReport,
    SyncRecord,
    SyncState,
)
from portal.services.accounting import map as m
from portal.services.accounting.compare import (
    Totals,
    Variance,
    add_cliniko,
    add_reckon,
    compare_invoice,
    compare_receipt,
    note_purpose,
)
from portal.services.accounting.source import read_lines
from portal.services.accounting.sync import SyncEnv
from portal.services.accounting.vouchers import check_liability, details_of, latest_liability
from portal.services.problems.sources import note_mismatches
from portal.tenancy import owned

PREFIX = m.REFERENCE.format(number="")
PAY = m.PAYMENT_REFERENCE.format(number="")


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


@dataclass
class ReckonSide:
    """What the report reads from Reckon: invoices, credit notes and receipts by reference."""

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # number → purpose
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # invoice number → row


def _read_reckon(reckon: ReckonClient, book_id: str) -> ReckonSide:
    side = ReckonSide()
    for row in reckon_invoice_rows(reckon, book_id):
        side.invoices[str(row.get("reference") or "")] = row
    for row in reckon.iter_credit_note_records(book_id, "reference startswith 'CLINIKO-'"):
        found = note_purpose(str(row.get("reference") or ""))
        if found:
            side.notes.setdefault(found[1], {})[found[0]] = row
    for row in reckon.iter_receipt_records(book_id, f"reference startswith {quote_filter(PAY)}"):
        side.receipts[str(row.get("reference") or "")[len(PAY) :]] = row
    return side


def compare_books(
    clinic: Clinic,
    report: MismatchReport,
    env: SyncEnv,
    cliniko: ClinikoClient,
    note: Callable[[str], None],
) -> list[Variance]:
    """Read both sides and return every variance in the period or carried over; fills totals."""
    period = (report.period_start, report.period_end)
    settings, reckon = env.settings, env.reckon
    carried = {ln.reference for ln in previous_open_lines(clinic, report.id)}
    note("Reading Cliniko invoices…")
    invoices: dict[str, Invoice] = {}
    seen = 0
    for inv in cliniko.iter_invoices(include_archived=True):
        seen += 1
        ref = m.REFERENCE.format(number=inv.number)
        if _in(period, inv.issue_date) or ref in carried:
            invoices[ref] = inv
    in_period = [i for i in invoices.values() if _in(period, i.issue_date)]
    lines = read_lines(cliniko, in_period, every=len(in_period) == seen)
    note("Reading Reckon invoices, credit notes and receipts…")
    side = _read_reckon(reckon, settings.book_id)
    rows = {
        ref: row
        for ref, row in side.invoices.items()
        if _in(period, to_date(row.get("invoiceDate"))) or ref in carried or ref in invoices
    }
    note("Comparing…")
    totals = Totals({})
    for ref, inv in invoices.items():
        if _in(period, inv.issue_date):
            _add_cliniko(totals, env, inv, lines.get(inv.id, []), rows.get(ref))
    for ref, row in rows.items():
        if _in(period, to_date(row.get("invoiceDate"))):
            add_reckon(totals, row)
            number = ref[len(PREFIX) :]
            for credit in side.notes.get(number, {}).values():
                add_reckon(totals, credit, -1, "creditNoteDate")
    found: list[Variance] = []
    for ref in sorted(invoices.keys() | rows.keys()):
        number = ref[len(PREFIX) :]
        notes = side.notes.get(number, {})
        found += compare_invoice(ref, invoices.get(ref), rows.get(ref), notes)
        receipt = side.receipts.get(number)
        if receipt is not None:
            found += compare_receipt(f"{PAY}{number}", invoices.get(ref), receipt)
    found += unsent(clinic)
    liability = _liability(env, note)
    found += liability
    report.summary = {
        "totals": totals.rows(),
        "cliniko_invoices": len(invoices),
        "reckon_invoices": len(rows),
        "sections": _sections(totals, found),
        "liability": _liability_figures(clinic),
    }
    return found


def _add_cliniko(
    totals: Totals, env: SyncEnv, inv: Invoice, lines: list[Any], row: dict[str, Any] | None
) -> None:
    moment = inv.archived_at or inv.deleted_at or inv.closed_at
    day = env.local_date(moment, inv.business_id)
    if m.invoice_archived(inv):
        if row is not None:  # as it was when it reached Reckon, then reversed on the day
            add_reckon(totals, row, 1, "invoiceDate", side="cliniko")
            add_reckon(totals, row, -1, "invoiceDate", side="cliniko", when=day)
        return
    add_cliniko(totals, env.settings, inv, lines, env.rates, row is not None, day)


def unsent(clinic: Clinic) -> list[Variance]:
    """Every record the sync has not put in Reckon, with the reason: the report never says
    "agree" while any is left."""
    stmt = owned(SyncRecord, clinic).where(SyncRecord.state != SyncState.SYNCED)
    out = []
    for rec in db.session.scalars(stmt.order_by(SyncRecord.kind, SyncRecord.id)):
        what = rec.reference or rec.label or rec.cliniko_id
        reference = f"Customer: {what}" if rec.kind == EntityKind.CUSTOMER else what
        out.append(
            Variance(
                "unsent",
                reference[:200],
                rec.cliniko_id if rec.kind in (EntityKind.INVOICE, EntityKind.CUSTOMER) else None,
                rec.reckon_id,
                None,
                rec.state,
                "",
                f"Not in Reckon ({rec.kind.replace('_', ' ')}, {rec.state.replace('_', ' ')}): "
                f"{rec.message or 'not sent yet'}",
            )
        )
    return out


def _liability(env: SyncEnv, note: Callable[[str], None]) -> list[Variance]:
    note("Comparing the voucher liability with VaocherApp…")
    check = check_liability(env)
    if check is None:
        return []
    out = [
        Variance(
            "liability",
            f"Voucher {v['code']}",
            None,
            None,
            None,
            v["vaocherapp"],
            v["reckon"],
            v["message"],
        )
        for v in details_of(check)
    ]
    if not check.agrees and not out:
        out.append(
            Variance(
                "liability",
                check.details.get("account", "Gift voucher liability"),
                None,
                None,
                None,
                check.outstanding,
                check.reckon_balance,
                "The liability account's balance differs from VaocherApp's outstanding total "
                "(entries made by hand in Reckon?).",
            )
        )
    return out


def _liability_figures(clinic: Clinic) -> dict[str, Any]:
    check = latest_liability(clinic)
    if check is None:
        return {}
    return {"reckon": check.reckon_balance, "vaocherapp": check.outstanding, "agrees": check.agrees}


SECTIONS = {
    "invoices": ("missing_in_reckon", "missing_in_cliniko", "amount", "tax", "status"),
    "credit notes": ("credit_note",),
    "receipts": ("receipt",),
    "voucher liability": ("liability",),
    "not sent": ("unsent",),
}


def _sections(totals: Totals, found: list[Variance]) -> dict[str, dict[str, Any]]:
    """Each section's own verdict; the report agrees only when every one does."""
    out = {}
    for name, kinds in SECTIONS.items():
        count = sum(v.kind in kinds for v in found)
        out[name] = {"count": count, "agrees": count == 0}
    differs = sum(bool(r["differs"]) for r in totals.rows())
    out["totals by month and tax code"] = {"count": differs, "agrees": differs == 0}
    return out


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
