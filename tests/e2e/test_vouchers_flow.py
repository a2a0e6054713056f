"""A voucher bought in VaocherApp (the sandbox) shows up in the browser, provisioned in Cliniko,
and Cliniko's patient button lands on it."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from portal.crypto import secret_box
from portal.extensions import db
from portal.models import Connection, Provider

pytestmark = pytest.mark.e2e


@pytest.fixture
def webhooked(portal, sandbox, bondi_accounts, login, post):
    """Bondi Physio linked, with its webhook URL and secret pasted into VaocherApp's settings."""
    login("manager@example.com")
    base = "/c/bondi-physio/connections"
    post(f"{base}/cliniko", {"api_key": bondi_accounts["cliniko"]["api_key"]})
    post(f"{base}/vaocherapp", {"api_key": bondi_accounts["vaocherapp"]["api_key"]})
    vaocherapp = Connection.provider == Provider.VAOCHERAPP
    conn = db.session.scalar(db.select(Connection).where(vaocherapp))
    registration = {
        "api_key": bondi_accounts["vaocherapp"]["api_key"],
        "url": f"{portal}/hooks/vaocherapp/{conn.webhook_token}",
        "secret": secret_box().open(conn.sealed_secrets)["webhook_secret"],
    }
    requests.post(f"{sandbox.url}/_sandbox/vaocherapp/webhooks", json=registration, timeout=5)
    return portal


def test_bought_voucher_appears_provisioned_and_the_patient_button_finds_it(
    webhooked, sandbox, bondi_accounts, sign_in
):
    purchase = {
        "api_key": bondi_accounts["vaocherapp"]["api_key"],
        "value": 12000,
        "purchaser_name": "Olive Nguyen",
        "purchaser_email": "olive.nguyen@example.com",
    }
    code = requests.post(
        f"{sandbox.url}/_sandbox/vaocherapp/purchase", json=purchase, timeout=5
    ).json()["code"]

    page: Page = sign_in("manager@example.com")
    page.get_by_role("link", name="Vouchers").first.click()
    page.get_by_label("Search code, purchaser, patient name or email").fill("olive")
    row = page.locator("#voucher-table tbody tr", has_text=code)
    for _ in range(30):  # the webhook and the provisioning job take a moment
        if row.count() and "not provisioned" not in row.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(row).to_contain_text("Olive Nguyen")
    expect(row.get_by_role("link", name="Patient")).to_have_attribute(
        "href", re.compile(r"^https://bondiphysio\.au1\.cliniko\.com/patients/\d+$")
    )
    expect(row.get_by_role("link", name="VaocherApp")).to_have_attribute(
        "href", f"https://vaocher.app/o?c={code}"
    )
    patient_id = row.get_by_role("link", name="Patient").get_attribute("href").rsplit("/", 1)[1]

    page.goto(f"{webhooked}/c/bondi-physio/cliniko/patient?patient_id={patient_id}")
    expect(page.get_by_role("heading", name=re.compile(f"Voucher {code}"))).to_be_visible()
    expect(page.locator("#voucher-timeline")).to_contain_text("Provisioned in Cliniko")
    expect(page.locator("#voucher-balance")).to_have_text("$120.00")
