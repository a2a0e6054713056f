"""Watching a job live in the browser: start, progress to 100%, outcomes, retry and cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_start_demo_job_watch_it_finish_and_retry_failed_items(sign_in):
    page: Page = sign_in("demo@example.com")
    expect(page.get_by_role("heading", name="Your clinics")).to_be_visible()
    page.get_by_role("link", name="Bondi Physio").click()
    page.get_by_label("Number of items").fill("12")
    page.get_by_role("button", name="Start demo job").click()

    expect(page).to_have_url(re.compile(r"/c/bondi-physio/jobs/\d+$"))
    expect(page.locator("#run-percent")).to_have_text("100%", timeout=30_000)
    expect(page.locator("#run-status")).to_have_attribute("data-status", "partial")
    # Items 7 (skipped) and 11 (fails on the first try) out of 12.
    expect(page.locator("#count-ok")).to_have_text("10")
    expect(page.locator("#count-skipped")).to_have_text("1")
    expect(page.locator("#count-failed")).to_have_text("1")
    # A finished run lists every item without a reload, opening on "Failed" as one failed.
    tabs = page.get_by_role("navigation", name="Filter by outcome")
    expect(tabs.get_by_role("link", name=re.compile("^Failed"))).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("#items-table tbody tr")).to_have_count(1)
    expect(page.locator("#items-table")).to_contain_text("Synthetic upstream error")
    tabs.get_by_role("link", name=re.compile("^All")).click()
    expect(page.locator("#items-table tbody tr")).to_have_count(12)
    expect(page.locator("#run-clock")).to_contain_text("Took")
    page.get_by_role("button", name="Retry 1 failed item").click()
    expect(page.get_by_text("retry of the failed items of")).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(page.locator("#count-ok")).to_have_text("1")


def test_cancel_asks_first_then_stops_the_run(sign_in):
    page: Page = sign_in("manager@example.com")
    expect(page.get_by_role("heading", name="Bondi Physio")).to_be_visible()
    page.get_by_label("Number of items").fill("400")
    page.get_by_role("button", name="Start demo job").click()
    expect(page.locator("#current-item")).to_be_visible(timeout=30_000)

    # "No" in the confirmation leaves the run alone; "Yes" stops it.
    page.get_by_role("button", name="Cancel run").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Items already done stay done")
    dialog.get_by_role("button", name="No, keep it running").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "running")
    expect(page.get_by_role("button", name="Cancel run")).to_be_focused()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel the run").click()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "cancelled", timeout=30_000
    )
    expect(page.locator("#run-message")).to_contain_text("Cancelled after")
    expect(page.get_by_role("button", name="Retry: finish the unfinished items")).to_be_visible()


def test_viewer_sees_progress_but_no_controls(sign_in, portal):
    page: Page = sign_in("viewer@example.com")
    expect(page.get_by_role("heading", name="Bondi Physio")).to_be_visible()
    expect(page.get_by_role("button", name="Start demo job")).to_have_count(0)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_text("No jobs have run in this clinic yet.")).to_be_visible()
