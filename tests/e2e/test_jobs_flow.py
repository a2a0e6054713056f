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
    expect(page.locator("#run-status")).to_have_text("partial")
    # Items 7 (skipped) and 11 (fails on the first try) out of 12.
    expect(page.locator("#count-ok")).to_have_text("10")
    expect(page.locator("#count-skipped")).to_have_text("1")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#items-table tbody tr")).to_have_count(12)

    page.get_by_role("navigation", name="Filter by outcome").get_by_role(
        "link", name="Failed"
    ).click()
    expect(page.locator("#items-table tbody tr")).to_have_count(1)
    expect(page.locator("#items-table")).to_contain_text("Synthetic upstream error")

    page.get_by_role("button", name="Retry 1 failed item").click()
    expect(page.get_by_text("retry (failed) of")).to_be_visible()
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator("#count-ok")).to_have_text("1")


def test_cancel_asks_first_then_stops_the_run(sign_in):
    page: Page = sign_in("manager@example.com")
    expect(page.get_by_role("heading", name="Bondi Physio")).to_be_visible()
    page.get_by_label("Number of items").fill("400")
    page.get_by_role("button", name="Start demo job").click()
    expect(page.locator("#current-item")).to_be_visible(timeout=30_000)

    dialogs: list[str] = []

    def dismiss_first_then_accept(dialog):
        dialogs.append(dialog.message)
        if len(dialogs) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", dismiss_first_then_accept)
    page.get_by_role("link", name="Cancel run").click()
    expect(page.locator("#run-status")).to_have_text("running")
    page.get_by_role("link", name="Cancel run").click()
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=30_000)
    assert "items already done stay done" in dialogs[0]
    expect(page.locator("#run-message")).to_contain_text("Cancelled after")
    expect(page.get_by_role("button", name="Retry: finish the unfinished items")).to_be_visible()


def test_viewer_sees_progress_but_no_controls(sign_in, portal):
    page: Page = sign_in("viewer@example.com")
    expect(page.get_by_role("heading", name="Bondi Physio")).to_be_visible()
    expect(page.get_by_role("button", name="Start demo job")).to_have_count(0)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_text("No jobs have run in this clinic yet.")).to_be_visible()
