"""Every role's main pages: no sideways scrolling on a phone (390 by 844) nor on a laptop
(1366 by 900), and axe-core finds nothing on any of them (the conftest's check runs on every page
visited here, at the phone size, as the role signed in)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CLINIC = "/c/bondi-physio"
CLINIC_PAGES = [
    f"{CLINIC}/",
    f"{CLINIC}/vouchers/",
    f"{CLINIC}/vouchers/?page=999",
    f"{CLINIC}/reconciliation/",
    f"{CLINIC}/jobs/",
    f"{CLINIC}/connections/",
    f"{CLINIC}/inbox/",
    f"{CLINIC}/accounting/",
]
ROLES = {
    "demo@example.com": ["/", *CLINIC_PAGES, "/a/harbour/", "/a/harbour/inbox/", "/alerts/"],
    "staff@example.com": ["/", *CLINIC_PAGES, "/a/harbour/inbox/", "/alerts/"],
    "manager@example.com": [*CLINIC_PAGES, "/alerts/", "/demo/sent-emails/"],
    "viewer@example.com": CLINIC_PAGES,
    "other@example.com": ["/", "/a/northside/", "/a/northside/inbox/", "/alerts/"],
}


def sideways(page: Page) -> int:
    """How far the page scrolls sideways (0 when it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def _visit_all(page: Page, portal: str, paths: list[str]) -> dict[str, int]:
    too_wide = {}
    for path in paths:
        answer = page.goto(f"{portal}{path}")
        assert answer is not None, path
        assert answer.ok, path
        page.wait_for_load_state()
        if (extra := sideways(page)) > 0:
            too_wide[path] = extra
    return too_wide


@pytest.mark.parametrize("email", list(ROLES))
def test_every_page_fits_and_passes_axe(sign_in, portal, page: Page, email):
    page.set_viewport_size(LAPTOP)
    sign_in(email)
    if email == "demo@example.com":  # a run and its page, as every role's jobs list shows it
        page.goto(f"{portal}{CLINIC}/")
        page.get_by_label("Number of items").fill("12")
        page.get_by_role("button", name="Start demo job").click()
        expect(page.locator("#run-status")).to_have_attribute(
            "data-status", "partial", timeout=30_000
        )
    paths = ROLES[email]
    assert _visit_all(page, portal, paths) == {}
    page.set_viewport_size(PHONE)
    assert _visit_all(page, portal, paths) == {}
