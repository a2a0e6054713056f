"""The shared pieces pages are made of: confirmations that ask, words for stored identifiers,
Babel money and local times, the plan's sentence, counters that agree with the items shown,
forms and empty states."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import Clinic, Connection, JobItem, JobRun, JobStatus, Provider
from portal.services.reconciliation.summary import PlanSummary, plan_sentence
from portal.services.timezones import agency_timezone
from portal.web.formatting import ago_text, dollars, money, signed_money, time_text
from portal.web.words import state_label

BONDI = "/c/bondi-physio"


@pytest.fixture
def manager(demo, login):
    return login("manager@example.com")


def _linked(post, sandbox_accounts_for_bondi) -> None:
    key = sandbox_accounts_for_bondi["cliniko"]["api_key"]
    assert post(f"{BONDI}/connections/cliniko", {"api_key": key}).status_code == 303


def _cliniko() -> Connection | None:
    db.session.expire_all()
    return db.session.scalar(db.select(Connection).where(Connection.provider == Provider.CLINIKO))


# ---- confirmations --------------------------------------------------------------------------
def test_unlink_asks_with_and_without_javascript_and_only_yes_acts(
    manager, client, post, bondi_accounts
):
    _linked(post, bondi_accounts)
    page = client.get(f"{BONDI}/connections/").get_data(as_text=True)
    # The button: htmx asks in a dialog and posts confirmed=1; without script it opens the page.
    assert 'hx-post="/c/bondi-physio/connections/cliniko/unlink"' in page
    assert "hx-confirm=" in page
    assert '<form method="get" action="/c/bondi-physio/connections/cliniko/unlink"' in page
    asked = client.get(f"{BONDI}/connections/cliniko/unlink").get_data(as_text=True)
    assert "Unlink Cliniko?" in asked
    assert "forgets this clinic&#39;s Cliniko credentials" in asked
    assert _cliniko().sealed_secrets  # asking changed nothing
    refused = post(f"{BONDI}/connections/cliniko/unlink")  # a POST without "yes" only asks
    assert refused.status_code == 200
    assert "Yes, unlink Cliniko" in refused.get_data(as_text=True)
    assert _cliniko().sealed_secrets
    assert post(f"{BONDI}/connections/cliniko/unlink", {"confirmed": "1"}).status_code == 303
    assert _cliniko() is None or not _cliniko().sealed_secrets


def test_a_new_webhook_secret_is_asked_for_first(manager, client, post, bondi_accounts):
    key = bondi_accounts["vaocherapp"]["api_key"]
    post(f"{BONDI}/connections/vaocherapp", {"api_key": key})
    before = db.session.scalar(
        db.select(Connection).where(Connection.provider == Provider.VAOCHERAPP)
    ).sealed_secrets
    asked = client.get(f"{BONDI}/connections/vaocherapp/rotate-secret").get_data(as_text=True)
    assert "Make a new webhook secret?" in asked
    assert "refused" in asked
    db.session.expire_all()
    after = db.session.scalar(
        db.select(Connection).where(Connection.provider == Provider.VAOCHERAPP)
    ).sealed_secrets
    assert after == before


def test_the_demo_shows_sandbox_keys_only_for_what_is_not_linked(
    manager, client, post, bondi_accounts
):
    page = client.get(f"{BONDI}/connections/").get_data(as_text=True)
    assert bondi_accounts["cliniko"]["api_key"] in page
    assert bondi_accounts["vaocherapp"]["api_key"] in page
    _linked(post, bondi_accounts)
    page = client.get(f"{BONDI}/connections/").get_data(as_text=True)
    assert bondi_accounts["cliniko"]["api_key"] not in page  # linked: never shown back
    assert bondi_accounts["vaocherapp"]["api_key"] in page


def test_the_demo_offers_a_sample_export(manager, client, tmp_path):
    page = client.get(f"{BONDI}/reconciliation/").get_data(as_text=True)
    assert "Download a sample export" in page
    assert 'accept=".csv,.txt,.tsv' in page
    sample = client.get(f"{BONDI}/reconciliation/sample-export.csv")
    assert sample.status_code == 200
    assert b"Invoice" in sample.data.splitlines()[0]


# ---- words, money, times --------------------------------------------------------------------
def test_stored_identifiers_have_words():
    assert state_label("needs_action", "sync") == "Needs action"
    assert state_label("partial", "run") == "Partly failed"
    assert state_label("not_linked", "connection") == "Not linked"
    assert state_label("something_new", "run") == "Something new"  # never raw


def test_money_is_babel_en_au_everywhere():
    assert money(150000) == "$1,500.00"
    assert dollars("1500.5") == "$1,500.50"
    assert signed_money(50000) == "+$500.00"
    assert signed_money(-50000) == "\u2212$500.00"


def test_times_are_local_with_their_zone():
    instant = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)
    assert time_text(instant, zone="Australia/Sydney") == "5 Mar 2026, 2:30 pm AEDT"
    assert time_text(instant, zone="Australia/Perth") == "5 Mar 2026, 11:30 am AWST"
    now = instant + timedelta(minutes=3)
    assert ago_text(instant, now) == "3 minutes ago"
    assert ago_text(now, now) == "just now"


def test_an_agency_reads_times_in_the_zone_most_of_its_clinics_are_in(demo):
    agency = max(demo["agencies"].values(), key=lambda a: len(a.clinics))
    zones = Counter(c.timezone for c in agency.clinics)
    assert agency_timezone(agency) == zones.most_common(1)[0][0]


def test_pages_show_the_clinics_local_time_not_utc(manager, client, post):
    post(f"{BONDI}/jobs/start/demo", {"items": 2})
    page = client.get(f"{BONDI}/jobs/").get_data(as_text=True)
    assert " UTC" not in page
    assert "Australia/Sydney" in client.get(f"{BONDI}/").get_data(as_text=True)


# ---- the plan's sentence --------------------------------------------------------------------
def test_the_plan_reads_as_one_sentence():
    summary = PlanSummary(vouchers=3, redeem_cents=29500, archives=1)
    summary.skipped[("it was already redeemed by hand", "they were already redeemed by hand")] = 1
    assert plan_sentence(summary) == (
        "Redeems 3 vouchers, $295.00 in all; archives 1 billable item; "
        "1 row skipped because it was already redeemed by hand."
    )


def test_the_plan_sentence_gives_its_reasons_in_one_order_whatever_order_the_rows_came_in():
    summary = PlanSummary()
    summary.looks["with an unknown code"] = 1  # met first: the database chose the row order
    summary.looks["ambiguous"] = 2
    summary.skipped[("it was already redeemed", "they were already redeemed")] = 2
    summary.skipped[("it was already redeemed by hand", "they were already redeemed by hand")] = 1
    assert plan_sentence(summary) == (
        "Redeems nothing; 1 row skipped because it was already redeemed by hand; "
        "2 rows skipped because they were already redeemed; 2 rows ambiguous left alone; "
        "1 row with an unknown code left alone."
    )


# ---- live job pages -------------------------------------------------------------------------
def test_counters_agree_with_the_items_shown(manager, client, demo):
    clinic: Clinic = demo["clinics"]["bondi-physio"]
    run = JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.RUNNING, params={}, total=5)
    db.session.add(run)
    db.session.flush()
    for n, outcome in enumerate(["ok", "ok", "failed"]):
        db.session.add(JobItem(run_id=run.id, ref=f"i{n}", label=f"Item {n}", outcome=outcome))
    run.ok_count = 7  # counters ahead of the items (another transaction's bump): not shown
    db.session.commit()
    page = client.get(f"{BONDI}/jobs/{run.id}").get_data(as_text=True)
    assert 'id="count-ok">2<' in page
    assert 'id="count-failed">1<' in page
    assert page.count('class="outcome-') == 3
    headers = {"HX-Request": "true"}
    since = max(i.id for i in db.session.scalars(db.select(JobItem)))
    db.session.add(JobItem(run_id=run.id, ref="i9", label="Item 9", outcome="skipped"))
    db.session.commit()
    poll = client.get(f"{BONDI}/jobs/{run.id}/progress?since={since}&page=1", headers=headers)
    text = poll.get_data(as_text=True)
    assert poll.status_code == 200
    assert 'hx-swap-oob="afterbegin:#items-body"' in text
    assert text.count('class="outcome-') == 1  # only the new item is added
    assert 'id="count-skipped">1<' in text


# ---- forms and empty states -----------------------------------------------------------------
def test_past_the_last_page_says_no_more_results(manager, client, post):
    assert "No jobs have run" in client.get(f"{BONDI}/jobs/?page=999").get_data(as_text=True)
    post(f"{BONDI}/jobs/start/demo", {"items": 2})
    page = client.get(f"{BONDI}/jobs/?page=999").get_data(as_text=True)
    assert "No more results." in page
    assert "No jobs have run" not in page


def test_start_sync_waits_for_mapping_settings_and_schedules_show_their_state(manager, client):
    page = client.get(f"{BONDI}/accounting/").get_data(as_text=True)
    assert 'id="start-sync" disabled' in page
    assert "Save mapping settings first →" in page
    box = re.search(r'<input[^>]*name="accounting-sync-enabled"[^>]*>', page)
    assert box is not None
    assert "checked" not in box.group(0)  # no schedule yet: the box says off


def test_no_page_of_mine_carries_inline_style_or_script(manager, client):
    for path in ("/", "/vouchers/", "/reconciliation/", "/jobs/", "/connections/", "/accounting/"):
        page = client.get(f"{BONDI}{path}").get_data(as_text=True)
        assert ' style="' not in page, path
        assert "<script>" not in page, path
        assert 'rel="icon"' in page, path
