"""The mismatch report against discrepancies seeded into the sandbox, and carry-over."""

from __future__ import annotations

from datetime import date

import requests

from portal.extensions import db
from portal.models import JobStatus, MismatchLine, MismatchReport
from tests.accounting_helpers import book, cliniko_account, configure, run_job

PERIOD = {"start": "2000-01-01", "end": "2100-01-01"}


def _lines(report_id: int) -> dict[tuple[str, str], MismatchLine]:
    db.session.expire_all()
    stmt = db.select(MismatchLine).where(MismatchLine.report_id == report_id)
    return {(ln.kind, ln.reference): ln for ln in db.session.scalars(stmt)}


def _report(run) -> MismatchReport:
    return db.session.scalar(db.select(MismatchReport).where(MismatchReport.run_id == run.id))


def test_report_finds_seeded_discrepancies_and_carries_them_over(
    linked_clinic, sandbox, run_worker
):
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    clean = run_job(clinic, run_worker, "accounting.report", **PERIOD)
    assert clean.status == JobStatus.SUCCEEDED, clean.message
    first = _report(clean)
    assert first.open_count == 0, _lines(first.id)
    assert all(not row["differs"] for row in first.summary["totals"])
    assert {row["code"] for row in first.summary["totals"]} >= {"FRE", "GST"}

    mirrors = sorted(
        (i for i in book(sandbox, accounts).invoices.values() if i.get("reference")),
        key=lambda i: i["reference"],
    )
    changed, deleted = mirrors[0], mirrors[1]
    base = f"{sandbox.url}/_sandbox/reckon/books/{accounts['reckon']['book_id']}/invoices"
    requests.post(
        f"{base}/{changed['id']}/mutate", json={"totalAmount": 1.23}, timeout=5
    ).raise_for_status()
    if deleted["_allocated"]:
        for receipt in list(book(sandbox, accounts).receipts.values()):
            if deleted["id"] in [t["transactionId"] for t in receipt["transactionLinks"]]:
                book(sandbox, accounts).receipts.remove(receipt["id"])
    requests.delete(f"{base}/{deleted['id']}", timeout=5).raise_for_status()
    paid_but_open = next(
        i for i in cliniko_account(sandbox, accounts).table("invoices") if i["status"] == 10
    )
    requests.post(
        f"{sandbox.url}/_sandbox/cliniko/invoices/{paid_but_open['id']}/pay",
        json={"api_key": accounts["cliniko"]["api_key"]},
        timeout=5,
    ).raise_for_status()

    found = _report(run_job(clinic, run_worker, "accounting.report", **PERIOD))
    lines = _lines(found.id)
    assert ("amount", changed["reference"]) in lines
    assert ("missing_in_reckon", deleted["reference"]) in lines
    status = lines[("status", f"CLINIKO-INV-{paid_but_open['number']}")]
    assert status.message == "Paid in Cliniko, open in Reckon."
    assert status.cliniko_id == paid_but_open["id"]
    assert status.reckon_id
    assert any(row["differs"] for row in found.summary["totals"])

    # Fix one (the sync settles the payment); the others carry over to the next report.
    run_job(clinic, run_worker)
    later = _report(run_job(clinic, run_worker, "accounting.report", **PERIOD))
    again = _lines(later.id)
    assert again[("amount", changed["reference"])].carried_over
    assert again[("amount", changed["reference"])].first_seen_at == (
        lines[("amount", changed["reference"])].first_seen_at
    )
    assert again[("status", status.reference)].resolved
    assert later.period_start == date(2000, 1, 1)
