"""Books that balance, in the browser: link → preview → approve → sync; then a voucher is sold,
used on an invoice for more than the treatment, and the credit is applied to the next invoice;
the Accounting page shows the liability matching VaocherApp and the mismatch report is clean."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.fixtures.portal import wait_for

pytestmark = pytest.mark.e2e

LONG = 30_000


def _control(sandbox, path: str, **body):
    answer = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _link_all(page: Page, accounts) -> None:
    page.get_by_role("link", name="Connections").click()
    page.get_by_label("Cliniko API key").fill(accounts["cliniko"]["api_key"])
    page.locator("#conn-cliniko").get_by_role("button", name="Save and test connection").click()
    expect(page.locator("#conn-cliniko [data-status]")).to_have_attribute("data-status", "ok")
    page.get_by_label("VaocherApp API key").fill(accounts["vaocherapp"]["api_key"])
    page.locator("#conn-vaocherapp").get_by_role("button", name="Save and test connection").click()
    expect(page.locator("#conn-vaocherapp [data-status]")).to_have_attribute("data-status", "ok")
    page.get_by_role("button", name="Connect Reckon").click()
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("radio", name="Bondi Physio").check()
    page.get_by_role("button", name="Use this book").click()
    for provider in ("cliniko", "vaocherapp", "reckon"):
        expect(page.locator(f"#conn-{provider} [data-status]")).to_have_attribute(
            "data-status", "ok"
        )


def _sync(page: Page, nav) -> None:
    nav.get_by_role("link", name="Accounting").click()
    page.get_by_role("button", name="Start sync").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    expect(page.locator("#count-failed")).to_have_text("0")


def test_voucher_credit_and_liability_balance_end_to_end(sign_in, sandbox, bondi_accounts):
    # Only this test's activity: VaocherApp's seeded vouchers are gone and Cliniko syncs from
    # today, so the liability and the report cover exactly what happens below.
    sandbox.world.clinics[0].vaocherapp.live.vouchers.clear()
    today = sandbox.world.clock.now().date().isoformat()
    cliniko = sandbox.world.cliniko_by_key[bondi_accounts["cliniko"]["api_key"]]
    service = next(r for r in cliniko.table("billable_items") if r["item_type"] == "Service")

    page: Page = sign_in("manager@example.com")
    nav = page.get_by_role("navigation", name="Bondi Physio")
    _link_all(page, bondi_accounts)

    nav.get_by_role("link", name="Accounting").click()
    page.get_by_role("link", name="Mapping settings", exact=True).click()
    page.get_by_label("Sync invoices issued from").fill(today)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Accounting settings saved.")).to_be_visible()

    # The reviewed first sync: preview, read it, approve it, then sync.
    page.get_by_role("button", name="Preview the sync").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    nav.get_by_role("link", name="Accounting").click()
    page.locator("#first-sync").get_by_role("link", name=re.compile(r"^preview #\d+$")).click()
    expect(page.locator("#preview-actions")).to_contain_text("item", ignore_case=True)
    page.get_by_role("button", name="Approve and allow syncs to write to Reckon").click()
    page.locator("#confirm-yes").click()
    expect(page.get_by_text("Preview approved")).to_be_visible()
    _sync(page, nav)

    # A voucher is sold in VaocherApp and imported; the portal provisions it in Cliniko.
    bought = _control(
        sandbox,
        "vaocherapp/purchase",
        api_key=bondi_accounts["vaocherapp"]["api_key"],
        value=20000,
        purchaser_name="Grace Lee",
        purchaser_email="grace.lee@example.com",
    )
    nav.get_by_role("link", name="Vouchers").click()
    page.get_by_role("button", name="Import vouchers from VaocherApp").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    item = wait_for(
        lambda: next(
            (b for b in cliniko.table("billable_items") if b["item_code"] == bought["code"]), None
        ),
        timeout=30,
    )
    patient = next(p for p in cliniko.table("patients") if p["email"] == "grace.lee@example.com")

    # Used on an invoice for more than the treatment (open credit), redeemed in VaocherApp,
    # and the credit pays the next invoice.
    key = bondi_accounts["cliniko"]["api_key"]
    over = _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=patient["id"],
        items=[{"billable_item_id": service["id"]}, {"billable_item_id": item["id"]}],
        issue_date=today,
    )
    assert over["status"] == 40
    _control(
        sandbox,
        "vaocherapp/redeem",
        api_key=bondi_accounts["vaocherapp"]["api_key"],
        code=bought["code"],
        amount=20000,
        reason=f"Cliniko invoice #{over['number']}",
    )
    _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=patient["id"],
        items=[{"billable_item_id": service["id"]}],
        issue_date=today,
        paid=True,
    )
    _sync(page, nav)

    nav.get_by_role("link", name="Accounting").click()
    expect(page.locator("#liability-reckon")).to_have_text("$0.00")
    expect(page.locator("#liability-vaocherapp")).to_have_text("$0.00")
    expect(page.locator("#liability-verdict")).to_have_text("They agree.")
    expect(page.locator("#liability-differences")).to_have_count(0)
    expect(page.locator("#decisions")).to_have_count(0)

    page.get_by_label("From", exact=True).fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Compare Cliniko and Reckon").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    nav.get_by_role("link", name="Accounting").click()
    page.locator("#reports tbody tr").first.get_by_role("link").click()
    expect(page.locator("#verdict")).to_contain_text(
        "Cliniko, VaocherApp and Reckon agree: nothing differs and nothing is left unsent."
    )
    expect(page.locator("#sections")).not_to_contain_text("differs")
    expect(page.locator("#report-liability")).to_contain_text("Reckon $0.00")

    book = sandbox.world.reckon.books[bondi_accounts["reckon"]["book_id"].lower()]
    notes = {n["reference"]: n for n in book.creditnotes.values()}
    credit = notes[f"CLINIKO-CR-{over['number']}"]
    assert credit["balance"] == 0  # the whole credit went to the next invoice
