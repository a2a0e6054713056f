"""Flow (a) of the agency command centre, in the browser against a live portal and a real worker:
break three clinics in the sandbox (Reckon down for Manly's sync, Coogee's Cliniko key revoked, an
export with an unknown code for Bondi) → the dashboard shows each clinic's chips → the inbox lists
the problems → assign one, snooze one → fix a cause and re-run → it resolves by itself → the
alerts and the digest arrive in the SMTP server with working links."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.demo.links import link_demo_clinics
from portal.extensions import db
from portal.jobs.start import start_run
from portal.models import AlertPreference, Clinic, JobRun, Problem, User
from portal.models.types import utcnow
from portal.services.connections.cliniko import link_cliniko
from portal.services.connections.vaocherapp import link_vaocherapp
from portal.services.problems.alerts import send_due_alerts
from tests.accounting_helpers import configure
from tests.fixtures.connections import sandbox_accounts
from tests.fixtures.portal import wait_for
from tests.reconciliation_helpers import export_csv, sync_vouchers

pytestmark = pytest.mark.e2e
LONG = 30_000
UNKNOWN_CODE = "NOPE-4242"


def _clinic(slug: str) -> Clinic:
    return db.session.scalar(select(Clinic).where(Clinic.slug == slug))


def _finished(run_id: int) -> JobRun:
    def done() -> JobRun | None:
        db.session.expire_all()
        run = db.session.get(JobRun, run_id)
        return run if run is not None and not run.is_live else None

    return wait_for(done, timeout=60, interval=0.25)


def _link_everything(portal: str, sandbox) -> None:
    link_demo_clinics(portal)  # Manly and Coogee (and Northside's clinic), as the demo does
    bondi = _clinic("bondi-physio")
    admin = db.session.scalar(select(User).where(User.email == "demo@example.com"))
    accounts = sandbox_accounts(sandbox)
    link_cliniko(bondi, admin, accounts["cliniko"]["api_key"])
    link_vaocherapp(bondi, admin, accounts["vaocherapp"]["api_key"], test_mode=False)
    db.session.commit()
    sync_vouchers()


def _export_with_an_unknown_code(sandbox, path) -> None:
    """Bondi's invoice-items export plus one voucher line whose code VaocherApp does not know."""
    text = export_csv(sandbox, sandbox_accounts(sandbox)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, extra = rows[0], list(rows[1])
    extra[header.index("Item Code")] = UNKNOWN_CODE
    total = next(i for i, name in reversed(list(enumerate(header))) if "total" in name.lower())
    extra[total] = "-50.00"
    extra[-2] = "990001"  # its own invoice item id
    out = io.StringIO()
    csv.writer(out).writerows([*rows, extra])
    path.write_text(out.getvalue())


def test_break_three_clinics_handle_them_in_the_inbox_and_get_the_digest(
    portal, app, sandbox, mailbox, sign_in, tmp_path
):
    app.config["RECONCILIATION_UPLOAD_DIR"] = str(tmp_path / "uploads")  # the worker's too
    _link_everything(portal, sandbox)
    manly, coogee = _clinic("manly-allied"), _clinic("coogee-podiatry")
    configure(manly)

    # 1. Reckon is down for Manly's sync.
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"upstream": "reckon", "outage": True}, timeout=10
    ).raise_for_status()
    sync = _finished(start_run(manly, None, "accounting.sync").id)
    assert sync.status == "failed", sync.message
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10)
    # 2. Someone revoked Coogee's Cliniko key.
    coogee_key = sandbox_accounts(sandbox, "Coogee Podiatry")["cliniko"]["api_key"]
    revoke = {"api_key": coogee_key}
    requests.post(f"{sandbox.url}/_sandbox/cliniko/revoke", json=revoke, timeout=10)
    _finished(start_run(coogee, None, "connections.check").id)

    # 3. Bondi uploads an export with a code VaocherApp does not know, in the browser.
    page: Page = sign_in("demo@example.com")
    export = tmp_path / "InvoiceItems-unknown.csv"
    _export_with_an_unknown_code(sandbox, export)
    page.goto(f"{portal}/c/bondi-physio/reconciliation/")
    page.locator("input[type=file]").set_input_files(str(export))
    page.get_by_role("button", name="Upload and plan").click()
    expect(page.locator("#batch-status")).to_have_attribute("data-status", "planned", timeout=LONG)

    # Critical problems are mailed at once (the worker's tick does this every minute).
    send_due_alerts()
    at_once = [m.subject for m in mailbox.wait_for(1) if "demo@example.com" in m.to]
    reconnect = "Reconnect Cliniko: it no longer accepts the portal's credentials"
    assert f"[Critical] Coogee Podiatry: {reconnect}" in at_once

    # The dashboard: a row per clinic with chips per kind.
    page.goto(f"{portal}/a/harbour/")
    rows = page.locator("#clinic-overview tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#clinic-coogee-podiatry")).to_contain_text("Reconnect needed")
    expect(page.locator("#clinic-manly-allied")).to_contain_text("Run failed")
    bondi_row = page.locator("#clinic-bondi-physio")
    expect(bondi_row).to_contain_text("Unknown voucher codes")
    bondi_row.get_by_role("link", name=re.compile("Unknown voucher codes")).click()
    expect(page).to_have_url(
        re.compile(r"/a/harbour/inbox/\?clinic=bondi-physio&kind=reconciliation_unknown$")
    )
    unknown = page.get_by_role(
        "link", name=re.compile(r"1 row\(s\) of InvoiceItems-unknown.csv have a voucher code")
    )
    expect(unknown).to_be_visible()
    unknown.click()  # straight to the page where it is fixed
    expect(page.locator("#batch-status")).to_have_attribute("data-status", "planned")
    expect(page.get_by_text(UNKNOWN_CODE).first).to_be_visible()

    # The inbox lists the three clinics' problems, most severe first.
    page.goto(f"{portal}/a/harbour/inbox/")
    problems = page.locator("table.problems tbody")
    expect(problems).to_contain_text("Reconnect Cliniko")
    expect(problems).to_contain_text(f"Accounting sync failed (run #{sync.id})")
    expect(problems).to_contain_text("InvoiceItems-unknown.csv")
    expect(page.locator("#problem-counts")).to_contain_text("Coogee Podiatry")

    # Assign Manly's failed sync to me.
    page.get_by_label(re.compile(r"Select: Accounting sync failed")).check()
    page.get_by_role("button", name="Assign…").click()
    expect(page.get_by_role("heading", name="Assign 1 problem?")).to_be_visible()
    page.get_by_role("button", name="Yes, assign").click()
    expect(page.get_by_text("1 problem assigned to Dana Admin.")).to_be_visible()
    sync_row = page.locator("tr", has_text="Accounting sync failed")
    expect(sync_row).to_contain_text("Assigned")
    # Snooze Bondi's unknown code for a day: it leaves the "needs attention" view.
    page.get_by_label(re.compile(r"Select: 1 row\(s\) of InvoiceItems-unknown.csv")).check()
    page.get_by_role("button", name="Snooze…").click()
    page.get_by_role("button", name="Yes, snooze").click()
    expect(page.get_by_text("1 problem snoozed for 1 day.")).to_be_visible()
    expect(page.locator("table.problems")).not_to_contain_text("InvoiceItems-unknown.csv")

    # Fix Coogee's cause (the key is restored) and re-run the check: it resolves by itself.
    requests.post(f"{sandbox.url}/_sandbox/cliniko/restore", json=revoke, timeout=10)
    page.goto(f"{portal}/c/coogee-podiatry/connections/")
    page.get_by_role("button", name="Re-check all connections (as a job)").click()
    expect(page).to_have_url(re.compile(r"/c/coogee-podiatry/jobs/\d+$"))
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=LONG)
    page.goto(f"{portal}/a/harbour/inbox/")
    expect(page.locator("table.problems")).not_to_contain_text("Reconnect Cliniko")
    page.goto(f"{portal}/a/harbour/inbox/?view=resolved&clinic=coogee-podiatry")
    expect(page.locator("table.problems")).to_contain_text("Reconnect Cliniko")
    db.session.expire_all()
    reconnect = db.session.scalar(select(Problem).where(Problem.kind == "connection_reconnect"))
    assert reconnect.resolution_note == "Resolved automatically: it answered"

    # The digest: due now; it groups what is new per clinic, with working absolute links.
    for pref in db.session.scalars(select(AlertPreference)):
        pref.next_digest_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    mailbox.clear()
    result = app.test_cli_runner().invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    digests = {m.to[0]: m for m in mailbox.wait_for(1) if "digest" in m.subject}
    digest = digests["demo@example.com"]
    assert "Manly Allied Health (1)" in digest.text
    assert "Accounting sync failed" in digest.text
    assert "Coogee" not in digest.text  # resolved, and mailed at once before that
    assert "InvoiceItems-unknown.csv" not in digest.text  # snoozed
    job_link = f"{portal}/c/manly-allied/jobs/{sync.id}"
    assert job_link in digest.text
    assert "Manly Allied Health (1)" in digests["staff@example.com"].text
    page.goto(job_link)
    expect(page.get_by_role("heading", name=re.compile("Accounting sync"))).to_be_visible()
