"""Reconciliation in the browser: upload an export whose columns need mapping, review the plan,
apply it, watch it finish and download the report."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.reconciliation_helpers import export_csv, link_bondi

pytestmark = pytest.mark.e2e


def test_upload_map_review_apply_and_download(portal, app, login, post, sandbox, tmp_path, sign_in):
    accounts = link_bondi(app, login, post, sandbox, tmp_path)
    # An export with a header no alias knows, so the column-mapping step is needed.
    data = export_csv(sandbox, accounts).replace(b"Item Code", b"Gift Ref", 1)
    export = tmp_path / "InvoiceItems-renamed.csv"
    export.write_bytes(data)

    page: Page = sign_in("manager@example.com")
    page.get_by_role("link", name="Reconciliation").click()
    page.locator("input[type=file]").set_input_files(str(export))
    page.get_by_role("button", name="Upload and plan").click()

    # The upload goes straight to the mapping step when a required column is not recognised.
    expect(page.get_by_role("heading", name="Which column is which?")).to_be_visible()
    page.get_by_label("Item code *").select_option(label="Gift Ref")
    page.get_by_role("button", name="Use these columns and plan").click()

    expect(page.locator("#batch-status")).to_have_attribute(
        "data-status", "planned", timeout=30_000
    )
    expect(page.locator("#total-redeem")).to_contain_text("3")
    expect(page.locator("#plan-sentence")).to_contain_text("Redeems ")
    page.locator("#approve").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Apply reconciliation")
    page.locator("#confirm-yes").click()
    expect(page.locator("#apply-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(page.locator("#batch-status")).to_have_attribute("data-status", "applied")

    with page.expect_download() as download_info:
        page.locator("#report-csv").click()
    report = download_info.value.path().read_text()
    assert report.splitlines()[0].startswith("row,invoice")
    assert report.count("redeemed") >= 3
