"""Linking all three accounts in the browser, Reckon through its consent page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_manager_links_cliniko_vaocherapp_and_reckon(sign_in, bondi_accounts):
    page: Page = sign_in("manager@example.com")
    page.get_by_role("link", name="Connections").click()
    expect(page.locator("#conn-cliniko [data-status]")).to_have_attribute(
        "data-status", "not_linked"
    )

    page.get_by_label("Cliniko API key").fill(bondi_accounts["cliniko"]["api_key"])
    page.locator("#conn-cliniko").get_by_role("button", name="Save and test connection").click()
    expect(page.locator("#conn-cliniko [data-status]")).to_have_attribute("data-status", "ok")
    expect(page.get_by_text("Cliniko linked")).to_be_visible()

    page.get_by_label("VaocherApp API key").fill(bondi_accounts["vaocherapp"]["api_key"])
    page.locator("#conn-vaocherapp").get_by_role("button", name="Save and test connection").click()
    expect(page.locator("#conn-vaocherapp [data-status]")).to_have_attribute("data-status", "ok")
    expect(page.get_by_label("Webhook URL")).to_have_value(
        re.compile(r"/hooks/vaocherapp/[\w-]{32,}$")
    )

    page.get_by_role("button", name="Connect Reckon").click()
    # Reckon's own sign-in and consent page (the sandbox's identity server).
    expect(page.get_by_role("heading", name="Reckon sign in")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Choose Bondi Physio's Reckon book")).to_be_visible()
    page.get_by_role("radio", name="Bondi Physio").check()
    page.get_by_role("button", name="Use this book").click()

    for provider in ("cliniko", "vaocherapp", "reckon"):
        expect(page.locator(f"#conn-{provider} [data-status]")).to_have_attribute(
            "data-status", "ok"
        )
    expect(page.locator("#conn-cliniko")).not_to_contain_text(bondi_accounts["cliniko"]["api_key"])
