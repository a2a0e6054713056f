"""The main paths with the keyboard alone: Tab to move, Enter to act, the confirmation dialog
answered from the keyboard; focus is never lost to a live update or a row action."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.reconciliation_helpers import export_csv, link_bondi

pytestmark = pytest.mark.e2e


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until `target` has the focus (as a keyboard user would), or fail."""
    handle = target.element_handle()
    assert handle is not None
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def answer_yes(page: Page) -> None:
    """The dialog opens on its safe answer ("No"); Shift+Tab reaches "Yes", Enter says it."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.locator("#confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")


def settled(page: Page) -> None:
    """Wait until htmx has finished swapping (a person is never faster than its 20 ms settle)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"
    )


def sign_in_by_keyboard(page: Page, portal: str, email: str) -> None:
    page.goto(f"{portal}/login")
    tab_to(page, page.get_by_label("Email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_vouchers_redeem_upload_plan_approve_by_keyboard(
    portal, app, login, post, sandbox, tmp_path, page: Page
):
    accounts = link_bondi(app, login, post, sandbox, tmp_path)
    sign_in_by_keyboard(page, portal, "manager@example.com")
    nav = page.get_by_role("navigation", name="Bondi Physio")

    # Vouchers → a voucher → redeem it, confirmed in the dialog.
    tab_to(page, nav.get_by_role("link", name="Vouchers"))
    page.keyboard.press("Enter")
    first = page.locator("#voucher-table tbody tr").first.get_by_role("link").first
    tab_to(page, first)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Voucher "))).to_be_visible()
    redeem = page.get_by_role("button", name="Mark redeemed in VaocherApp…")
    tab_to(page, redeem)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_contain_text("whole remaining balance")
    answer_yes(page)
    expect(page.get_by_text("redeemed in VaocherApp.")).to_be_visible()
    expect(page.locator("#voucher-balance")).to_have_text("$0.00")

    # Upload → plan → exclude and include a row (focus stays on it) → approve.
    export = tmp_path / "InvoiceItems.csv"
    export.write_bytes(export_csv(sandbox, accounts))
    tab_to(page, nav.get_by_role("link", name="Reconciliation"))
    page.keyboard.press("Enter")
    upload = page.get_by_label("Cliniko invoice-items export (CSV)")
    tab_to(page, upload)
    upload.set_input_files(str(export))  # the one step a browser's own file picker does
    tab_to(page, page.get_by_role("button", name="Upload and plan"))
    page.keyboard.press("Enter")
    expect(page.locator("#batch-status")).to_have_attribute(
        "data-status", "planned", timeout=30_000
    )
    toggle = page.get_by_role("button", name="Exclude").first
    toggle_id = toggle.get_attribute("id")
    tab_to(page, toggle)
    page.keyboard.press("Enter")
    again = page.locator(f"#{toggle_id}")
    expect(again).to_have_text("Include")
    expect(again).to_be_focused()  # back on the row's button, not on <body>
    settled(page)
    page.keyboard.press("Enter")
    expect(again).to_have_text("Exclude")
    expect(again).to_be_focused()
    settled(page)
    tab_to(page, page.locator("#approve"))
    page.keyboard.press("Enter")
    answer_yes(page)
    expect(page.locator("#batch-status")).to_have_attribute(
        "data-status", "applied", timeout=30_000
    )


def start_long_demo_run(page: Page, portal: str) -> None:
    """Signed in as the manager, start a 400-item demo job by keyboard and wait until it works."""
    sign_in_by_keyboard(page, portal, "manager@example.com")
    items = page.get_by_label("Number of items")
    tab_to(page, items)
    page.keyboard.press("Control+A")
    page.keyboard.type("400")
    page.keyboard.press("Enter")
    expect(page.locator("#current-item")).to_be_visible(timeout=30_000)


def test_watch_a_job_and_cancel_it_by_keyboard(portal, page: Page):
    start_long_demo_run(page, portal)

    cancel = page.get_by_role("button", name="Cancel run")
    tab_to(page, cancel)
    done_before = page.locator("#count-ok").inner_text()
    page.wait_for_timeout(2500)  # a few 1-second updates of the progress
    expect(page.locator("#count-ok")).not_to_have_text(done_before)
    expect(cancel).to_be_focused()  # the updates never took the focus away
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_contain_text("Items already done stay done")
    page.keyboard.press("Escape")  # refusing does nothing
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(cancel).to_be_focused()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "running")
    page.keyboard.press("Enter")
    answer_yes(page)
    # The portal took the request (the page says so) before the worker acts on it.
    expect(page.get_by_text("Cancel requested")).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "cancelled", timeout=30_000
    )


def test_an_action_that_fails_says_so(portal, page: Page):
    """The portal answering an action with an error leaves the page as it was: an alert says it
    did not go through, instead of nothing happening."""
    start_long_demo_run(page, portal)
    # The one thing the real portal will not do on request: fail this answer.
    page.route("**/cancel", lambda route: route.fulfill(status=500, body="boom"))
    cancel = page.get_by_role("button", name="Cancel run")
    tab_to(page, cancel)
    page.keyboard.press("Enter")
    answer_yes(page)
    expect(page.get_by_role("alert")).to_contain_text("did not go through", timeout=10_000)
    expect(page.get_by_role("alert")).to_contain_text("(500)")
    page.unroute("**/cancel")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "running")


def test_yes_after_a_quick_no_still_acts(portal, page: Page):
    """Asked twice in quick succession: the first dialog's "close" event (fired after the
    dialog closes, as a task of its own) may only arrive once the second asking has begun.
    That late event must not be taken for the second answer, and "Yes" still acts."""
    start_long_demo_run(page, portal)
    cancel = page.get_by_role("button", name="Cancel run")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    # Refuse and ask again within one task, so the refusal's close event comes after both.
    page.evaluate(
        """() => {
          document.getElementById("confirm-dialog").close();
          document.getElementById("cancel-run").click();
        }"""
    )
    answer_yes(page)
    expect(page.get_by_text("Cancel requested")).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "cancelled", timeout=30_000
    )
