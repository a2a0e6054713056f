"""Accounting in the browser: map Cliniko onto the Reckon book, sync and watch it finish, compare
the books (clean, then after an edit in Reckon), download the report and schedule the sync."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from portal.web.formatting import local_date, time_text
from tests.accounting_helpers import money

pytestmark = pytest.mark.e2e

LONG = 30_000  # the worker shares two cores with whatever else is running
PERIOD = ("2000-01-01", "2100-01-01")  # every seeded invoice, whatever the sandbox's clock says
CSV_HEADER = [
    *("kind", "reference", "issue_date", "cliniko", "reckon", "message"),
    *("carried_over", "resolved", "first_seen", "cliniko_url", "reckon_url"),
]


def test_map_sync_report_and_schedule(linked_clinic, sandbox, sign_in):
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    book_id = accounts["reckon"]["book_id"]
    cliniko = sandbox.world.cliniko_by_key[accounts["cliniko"]["api_key"]]
    invoices = list(cliniko.table("invoices"))
    # Every status is posted (written off and open credit with their credit notes); an invoice
    # archived before it ever reached Reckon has nothing to post and is skipped.
    issued = [i for i in invoices if not i["archived_at"]]
    odd = [i for i in invoices if i["archived_at"]]
    credits = [i for i in issued if i["status"] in (30, 40)]
    # A paid $0 invoice (all voucher) is Paid in Reckon once approved: it needs no receipt.
    paid = [i for i in issued if i["status"] == 20 and money(i["total_amount"]) > 0]
    billable = list(cliniko.table("billable_items"))
    codes = [b for b in billable if b["item_type"] == "Other" and b["price"] < 0]  # vouchers
    items = len(billable) - len(codes) + len(list(cliniko.table("products")))
    items += 1  # the one "Gift voucher" item every voucher line uses
    patients = len({i["patient_id"] for i in invoices if not i["archived_at"]})
    assert issued
    assert odd
    assert paid
    assert credits
    ok = items + patients + len(issued) + len(paid)
    skipped = len(odd) + len(codes)

    page: Page = sign_in("manager@example.com")
    clinic_nav = page.get_by_role("navigation", name="Bondi Physio")
    clinic_nav.get_by_role("link", name="Accounting").click()
    expect(page.get_by_role("heading", name="Accounting: Cliniko → Reckon One")).to_be_visible()
    expect(page.get_by_text("Not set up yet")).to_be_visible()
    expect(page.get_by_role("button", name="Start sync")).to_be_disabled()
    expect(page.get_by_role("link", name="Save mapping settings first →").first).to_be_visible()
    expect(page.get_by_text("Nothing synced yet.")).to_be_visible()

    # Mapping settings: the choices come from the book, and saving checks them against it.
    page.get_by_role("link", name="Mapping settings", exact=True).click()
    book_line = page.locator("p.muted", has_text="Reckon book")
    expect(book_line).to_be_visible()
    expect(book_line).not_to_contain_text(book_id)  # the book by its name, never its id
    page.get_by_label("Tax code for services").select_option("FRE")
    page.get_by_label("Tax code for products").select_option("GST")
    page.get_by_label("Tax code for voucher items").select_option("N-T")
    page.get_by_label("Income account for services").select_option("Sales - Services")
    page.get_by_label("Income account for products").select_option("Sales - Products")
    page.get_by_label("Account for voucher items").select_option("Gift Voucher Liability")
    page.get_by_label("Clearing account for payments").select_option("Cliniko Clearing")
    page.get_by_label("Payment method for payments").select_option("EFTPOS")
    page.get_by_label("When two patients share a name").select_option("patient_id")
    for entity in ("Items", "Customers", "Invoices", "Payments"):
        page.get_by_role("checkbox", name=re.compile(f"^{entity}")).check()
    overrides = page.get_by_label("Tax code per item")
    overrides.fill("bi-1 = NOPE")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Tax code NOPE (for bi-1) is not a sales tax code")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounting/settings$"))
    overrides.fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Accounting settings saved.")).to_be_visible()
    summary = page.get_by_text("· services FRE, products GST, vouchers N-T")
    expect(summary).not_to_contain_text(book_id)
    expect(summary).to_contain_text("payments to Cliniko Clearing (EFTPOS)")

    # Nothing may be written before a preview (dry run) is reviewed and approved.
    expect(page.get_by_text("Preview the sync and approve it first.")).to_be_visible()
    expect(page.get_by_role("button", name="Start sync")).to_be_disabled()
    page.get_by_role("button", name="Preview the sync").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    clinic_nav.get_by_role("link", name="Accounting").click()
    page.locator("#first-sync").get_by_role("link", name=re.compile(r"^preview #\d+$")).click()
    expect(page.locator("#preview-actions")).to_contain_text("invoice", ignore_case=True)
    expect(page.locator("#preview-actions")).to_contain_text("write off", ignore_case=True)
    expect(page.locator("#preview-totals tbody tr").first).to_be_visible()
    page.get_by_role("button", name="Approve and allow syncs to write to Reckon").click()
    page.locator("#confirm-yes").click()
    expect(page.get_by_text("Preview approved")).to_be_visible()

    # A full sync: its page opens while it works and polls the progress until the run ends.
    page.get_by_label("Full sync").check()
    with page.expect_response(re.compile(r"/jobs/\d+/progress(\?|$)"), timeout=LONG) as polled:
        page.get_by_role("button", name="Start sync").click()
        expect(page).to_have_url(re.compile(r"/c/bondi-physio/jobs/\d+$"))
    assert polled.value.ok
    heading = re.compile(r"^Accounting sync run #\d+$")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    expect(page.locator("#run-percent")).to_have_text("100%")
    total = ok + skipped
    expect(page.locator("#run-live")).to_contain_text(f"{total} of {total} items")
    expect(page.locator("#count-ok")).to_have_text(str(ok))
    expect(page.locator("#count-skipped")).to_have_text(str(skipped))
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#run-message")).to_contain_text(
        f"Finished: {ok} ok, {skipped} skipped, 0 failed."
    )
    page.get_by_role("navigation", name="Filter by outcome").get_by_role(
        "link", name="Skipped"
    ).click()
    expect(page.locator("#items-table tbody tr")).to_have_count(skipped)
    for inv in odd:
        expect(page.locator("#items-table")).to_contain_text(f"Invoice #{inv['number']}")

    # The accounting page counts the records of each phase, as the sandbox predicts.
    clinic_nav.get_by_role("link", name="Accounting").click()
    expect(page.locator("#records-item-synced")).to_have_text(str(items))
    expect(page.locator("#records-customer-synced")).to_have_text(str(patients))
    expect(page.locator("#records-invoice-synced")).to_have_text(str(len(invoices)))
    expect(page.locator("#records-credit_note-synced")).to_have_text(str(len(credits)))
    expect(page.locator("#records-payment-synced")).to_have_text(str(len(paid)))
    expect(page.locator("#sync-records tbody tr")).to_have_count(5)
    expect(page.locator("#attention")).to_have_count(0)

    # Right after a clean sync the books agree.
    _compare_and_open_report(page, clinic_nav)
    expect(page.get_by_text("0 open, 0 resolved since the last report")).to_be_visible()
    expect(page.get_by_text("No differences: Cliniko and Reckon agree")).to_be_visible()
    expect(page.locator("#verdict")).to_contain_text("agree: nothing differs")
    expect(page.locator("#totals tbody tr").filter(has_text="FRE").first).to_be_visible()
    expect(page.locator("#totals tbody tr").filter(has_text="GST").first).to_be_visible()
    expect(page.locator("#totals tr.differs")).to_have_count(0)

    # Someone edits an invoice's total in Reckon; the next report finds exactly that.
    mirrors = sorted(
        (
            i
            for i in sandbox.world.reckon.books[book_id.lower()].invoices.values()
            if i.get("reference")
        ),
        key=lambda i: i["reference"],
    )
    assert len(mirrors) == len(issued)
    edited = next(m for m in mirrors if m["totalAmount"] > 0)
    original = next(i for i in issued if f"CLINIKO-INV-{i['number']}" == edited["reference"])
    requests.post(
        f"{sandbox.url}/_sandbox/reckon/books/{book_id}/invoices/{edited['id']}/mutate",
        json={"totalAmount": 1.23},
        timeout=10,
    ).raise_for_status()
    _compare_and_open_report(page, clinic_nav)
    expect(page.get_by_text("1 open, 0 resolved since the last report")).to_be_visible()
    expect(page.locator("#variances tbody tr")).to_have_count(1)
    expect(page.locator("#variances tbody tr")).to_contain_text(edited["reference"])
    expect(page.locator("#variances tbody tr")).to_contain_text("Totals differ by")
    expect(page.locator("#verdict")).to_contain_text("They do not agree")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text())))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2, rows
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["kind"] == "amount"
    assert line["reference"] == edited["reference"]
    assert line["issue_date"] == str(original["issue_date"])[:10]
    assert money(line["cliniko"]) == money(original["total_amount"])
    assert money(line["reckon"]) == money("1.23")
    assert line["message"].startswith("Totals differ by ")
    assert money(line["message"].removeprefix("Totals differ by ").rstrip(".")) == money(
        "1.23"
    ) - money(original["total_amount"])
    assert (line["carried_over"], line["resolved"]) == ("False", "False")
    assert line["cliniko_url"].endswith(f"/invoices/{original['id']}")
    assert line["reckon_url"].endswith(f"/{book_id}/Core/Invoices/{edited['id']}")

    # A weekly schedule for the sync: the next run is shown here and on the clinic page.
    clinic_nav.get_by_role("link", name="Accounting").click()
    form = page.locator("form.schedule-form", has_text="Accounting sync")
    form.get_by_label("How often").select_option("weekly")
    form.get_by_label("Day (weekly)").select_option(label="Wednesday")
    form.get_by_label("Local time (HH:MM)").fill("06:30")
    form.get_by_label("On", exact=True).check()
    before = _next_wednesday_0630(clinic.timezone)
    form.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_text("Accounting sync schedule saved.")).to_be_visible()
    after = _next_wednesday_0630(clinic.timezone)
    next_run = re.compile(f"({re.escape(before)}|{re.escape(after)})")
    row = page.locator("#accounting-schedules tbody tr", has_text="Accounting sync")
    expect(row).to_contain_text(f"Weekly on Wednesday at 06:30, {clinic.timezone}")
    expect(row).to_contain_text(next_run)
    report_row = page.locator("#accounting-schedules tbody tr", has_text="Mismatch report")
    expect(report_row.locator("td").nth(1)).to_have_text("Off")

    clinic_nav.get_by_role("link", name="Overview").click()
    panel = page.locator("#accounting-schedules tbody tr", has_text="Accounting sync")
    expect(panel).to_contain_text(next_run, timeout=LONG)


def _compare_and_open_report(page: Page, clinic_nav: Locator) -> None:
    """Start a mismatch report for PERIOD, wait for its run to end, open the report."""
    clinic_nav.get_by_role("link", name="Accounting").click()
    page.get_by_label("From", exact=True).fill(PERIOD[0])
    page.get_by_label("To", exact=True).fill(PERIOD[1])
    page.get_by_role("button", name="Compare Cliniko and Reckon").click()
    heading = re.compile(r"^Mismatch report run #\d+$")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    expect(page.locator("#count-ok")).to_have_text("1")

    clinic_nav.get_by_role("link", name="Accounting").click()
    newest = page.locator("#reports tbody tr").first
    start, end = (local_date(date.fromisoformat(day)) for day in PERIOD)
    expect(newest).to_contain_text(f"{start} \N{EN DASH} {end}")
    newest.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Mismatch report #\d+$"))).to_be_visible()
    expect(page.get_by_role("link", name=f"run #{run_id}")).to_be_visible()


def _next_wednesday_0630(timezone: str) -> str:
    """The next Wednesday 06:30 in the clinic's time zone, as the page shows it (local)."""
    tz = ZoneInfo(timezone)
    now = datetime.now(tz)
    day = now.date() + timedelta(days=(2 - now.weekday()) % 7)
    when = datetime.combine(day, time(6, 30), tzinfo=tz)
    if when <= now:
        when = datetime.combine(day + timedelta(days=7), time(6, 30), tzinfo=tz)
    return time_text(when, zone=timezone)
