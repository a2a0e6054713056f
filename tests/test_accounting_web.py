"""Accounting pages: settings validated against the book, roles, starting runs, report + CSV,
schedules on the tick."""

from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.jobs.schedule_tick import ensure_tick, start_due_runs
from portal.models import AccountingSchedule, JobRun, MismatchLine, MismatchReport
from portal.models.types import utcnow
from tests.accounting_helpers import DEFAULTS, configure

ACC = "/c/bondi-physio/accounting"


def _form(**changes):
    values = {k: v for k, v in DEFAULTS.items() if k != "tax_overrides"}
    return values | {"sync_items": "y", "sync_invoices": "y", "tax_overrides": ""} | changes


def test_settings_are_validated_against_the_book(linked_clinic, client, post):
    page = client.get(f"{ACC}/settings").get_data(as_text=True)
    assert "Cliniko Clearing" in page
    assert "FRE" in page
    refused = post(f"{ACC}/settings", _form(tax_overrides="bi-1 = NOPE"), follow_redirects=True)
    assert "Tax code NOPE" in refused.get_data(as_text=True)
    bad_account = post(f"{ACC}/settings", _form(clearing_account="Petty cash"))
    assert bad_account.status_code == 200  # not a choice the book offers: the form says so
    assert post(f"{ACC}/settings", _form(tax_overrides="pr-9 = FRE")).status_code == 303
    page = client.get(f"{ACC}/").get_data(as_text=True)
    assert "payments to Cliniko Clearing" in page


def test_viewer_reads_reports_but_cannot_act(linked_clinic, client, post, login):
    clinic = linked_clinic["clinic"]
    report = MismatchReport(
        clinic_id=clinic.id, period_start=utcnow().date(), period_end=utcnow().date(), summary={}
    )
    db.session.add(report)
    db.session.flush()
    db.session.add(
        MismatchLine(
            clinic_id=clinic.id,
            report_id=report.id,
            kind="amount",
            reference="CLINIKO-INV-1",
            cliniko_id="77",
            reckon_id="abc",
            message="=HYPERLINK(evil)",
        )
    )
    db.session.commit()
    post("/logout")
    login("viewer@example.com")
    page = client.get(f"{ACC}/reports/{report.id}").get_data(as_text=True)
    assert "cliniko.com/invoices/77" in page
    assert "/Core/Invoices/abc" in page
    csv = client.get(f"{ACC}/reports/{report.id}.csv").get_data(as_text=True)
    assert "'=HYPERLINK(evil)" in csv
    assert post(f"{ACC}/sync").status_code == 403
    assert post(f"{ACC}/schedules", {"kind": "accounting.sync"}).status_code == 403
    assert client.get(f"{ACC}/settings").status_code == 403


def test_sync_button_starts_a_run(linked_clinic, post):
    configure(linked_clinic["clinic"])
    response = post(f"{ACC}/sync", {"full": "y"})
    assert response.status_code == 303
    run = db.session.scalar(db.select(JobRun).where(JobRun.kind == "accounting.sync"))
    assert run.params == {"full": True}
    assert response.headers["Location"].endswith(f"/jobs/{run.id}")


def test_schedule_runs_from_the_tick_and_the_clinic_page_shows_it(linked_clinic, client, post):
    configure(linked_clinic["clinic"])
    data = {"kind": "accounting.report", "accounting-report-frequency": "weekly"}
    data |= {"accounting-report-weekday": "2", "accounting-report-local_time": "06:30"}
    data |= {"accounting-report-enabled": "y"}
    assert post(f"{ACC}/schedules", data).status_code == 303
    row = db.session.scalar(db.select(AccountingSchedule))
    assert row.next_run_at > utcnow()
    local = row.next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Australia/Sydney"))
    assert (local.weekday(), local.strftime("%H:%M")) == (2, "06:30")
    started = start_due_runs(row.next_run_at + timedelta(seconds=1))
    db.session.expire_all()
    assert row.last_run_id == started[0]
    assert row.next_run_at > utcnow() + timedelta(days=6)
    panel = client.get(f"{ACC}/schedule").get_data(as_text=True)
    assert f"#{started[0]}" in panel
    assert "06:30" in panel
    assert "accounting/schedule" in client.get("/c/bondi-physio/").get_data(as_text=True)
    assert ensure_tick() == ensure_tick()  # one tick per minute however often it is ensured
