"""Vouchers: signed webhooks, provisioning into Cliniko exactly once, the browser and the button."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from redis import Redis

from portal.clients.cliniko_links import ASSUMED_PATIENT_WEB_URL
from portal.crypto import secret_box
from portal.extensions import db
from portal.jobs.runs import sweep_stale_runs
from portal.jobs.schedule_tick import start_waiting_intakes
from portal.models import (
    AuditEvent,
    Connection,
    JobRun,
    Provider,
    Voucher,
    VoucherEventKind,
    WebhookDelivery,
)
from portal.models.types import utcnow
from portal.services.vouchers.browser import voucher_links
from tests.fixtures.portal import free_port, wait_for

BONDI = "/c/bondi-physio"


@pytest.fixture
def linked(demo, login, post, bondi_accounts, sandbox):
    """Bondi Physio with Cliniko and VaocherApp linked, signed in as its clinic manager."""
    login("manager@example.com")
    assert (
        post(
            f"{BONDI}/connections/cliniko", {"api_key": bondi_accounts["cliniko"]["api_key"]}
        ).status_code
        == 303
    )
    assert (
        post(
            f"{BONDI}/connections/vaocherapp", {"api_key": bondi_accounts["vaocherapp"]["api_key"]}
        ).status_code
        == 303
    )
    requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=5)
    return _vaocher_conn()


def _vaocher_conn() -> Connection:
    return db.session.scalar(
        db.select(Connection).where(Connection.provider == Provider.VAOCHERAPP)
    )


def _secret() -> str:
    return secret_box().open(_vaocher_conn().sealed_secrets)["webhook_secret"]


def _purchase(sandbox, bondi_accounts, email="grace.lee@example.com", value=15000):
    body = {
        "api_key": bondi_accounts["vaocherapp"]["api_key"],
        "value": value,
        "purchaser_name": "Grace Lee",
        "purchaser_email": email,
    }
    answer = requests.post(f"{sandbox.url}/_sandbox/vaocherapp/purchase", json=body, timeout=5)
    assert answer.status_code == 201
    return answer.json()


def _signed(voucher: dict, event: str = "voucher.created") -> tuple[bytes, str]:
    body = json.dumps({"event": event, "data": voucher}).encode()
    return body, hmac.new(_secret().encode(), body, hashlib.sha256).hexdigest()


def _deliver(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["signature"] = signature
    path = f"/hooks/vaocherapp/{_vaocher_conn().webhook_token}"
    return client.post(path, data=body, headers=headers)


def _writes(sandbox, path_end: str) -> int:
    log = requests.get(f"{sandbox.url}/_sandbox/requests?upstream=cliniko", timeout=5).json()
    return sum(1 for r in log["requests"] if r["method"] == "POST" and r["path"].endswith(path_end))


def _voucher(code: str) -> Voucher:
    db.session.expire_all()
    return db.session.scalar(db.select(Voucher).where(Voucher.code == code))


# ---- webhook intake ----------------------------------------------------------------------------
def test_signed_webhook_is_recorded_then_provisioned_once(
    linked, client, sandbox, bondi_accounts, run_worker
):
    bought = _purchase(sandbox, bondi_accounts)
    body, signature = _signed(bought)
    response = _deliver(client, body, signature)
    assert response.status_code == 202
    assert response.get_json()["status"] == "accepted"
    run_worker()
    voucher = _voucher(bought["code"])
    assert voucher.value_cents == 15000
    assert voucher.is_provisioned
    assert _writes(sandbox, "/patients") == 1
    assert _writes(sandbox, "/billable_items") == 1
    cliniko = sandbox.world.clinics[0].cliniko
    item = cliniko.table("billable_items").get(voucher.cliniko_billable_item_id)
    assert (item["item_code"], item["item_type"]) == (bought["code"], "Other")
    assert Decimal(str(item["price"])) == Decimal("-150")
    patient = cliniko.table("patients").get(voucher.cliniko_patient_id)
    assert f"https://vaocher.app/o?c={bought['code']}" in patient["notes"]
    kinds = [e.kind for e in voucher.events]
    assert kinds == [VoucherEventKind.PURCHASED, VoucherEventKind.PROVISIONED]


@pytest.mark.parametrize("signature", [None, "0" * 64, "not-hex"])
def test_bad_or_missing_signature_is_401_and_audited(
    linked, client, sandbox, bondi_accounts, signature
):
    body, _good = _signed(_purchase(sandbox, bondi_accounts))
    response = _deliver(client, body, signature)
    assert response.status_code == 401
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) == 0
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "webhook.bad_signature" in actions


def test_signature_from_another_clinics_secret_is_refused(linked, client, sandbox, bondi_accounts):
    body = json.dumps(
        {"event": "voucher.created", "data": _purchase(sandbox, bondi_accounts)}
    ).encode()
    forged = hmac.new(b"someone-elses-secret", body, hashlib.sha256).hexdigest()
    assert _deliver(client, body, forged).status_code == 401


def test_malformed_body_is_400(linked, client):
    for body in (b"not json", b'{"event": "voucher.created"}', b'{"data": {"code": ""}}'):
        signature = hmac.new(_secret().encode(), body, hashlib.sha256).hexdigest()
        assert _deliver(client, body, signature).status_code == 400


def test_replayed_and_repeated_deliveries_do_nothing_twice(
    linked, client, sandbox, bondi_accounts, run_worker
):
    bought = _purchase(sandbox, bondi_accounts)
    body, signature = _signed(bought)
    assert _deliver(client, body, signature).get_json()["status"] == "accepted"
    assert _deliver(client, body, signature).get_json()["status"] == "duplicate"
    # A different event for the same voucher is a new delivery, but provisions nothing new.
    assert _deliver(client, *_signed(bought, "voucher.updated")).status_code == 202
    run_worker()
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) == 2
    assert _writes(sandbox, "/patients") == 1
    assert _writes(sandbox, "/billable_items") == 1


def test_unknown_webhook_token_is_404(linked, client):
    assert client.post("/hooks/vaocherapp/nope", data=b"{}").status_code == 404


def test_sandbox_purchase_reaches_the_portal_over_http(
    linked, live_server, sandbox, bondi_accounts, run_worker
):
    """The sandbox fires the signed webhook itself, to the URL the clinic registered."""
    requests.post(
        f"{sandbox.url}/_sandbox/vaocherapp/webhooks",
        json={
            "api_key": bondi_accounts["vaocherapp"]["api_key"],
            "url": f"{live_server}/hooks/vaocherapp/{_vaocher_conn().webhook_token}",
            "secret": _secret(),
        },
        timeout=5,
    )
    bought = _purchase(sandbox, bondi_accounts, email="new.patient@example.com")

    def delivered() -> bool:
        db.session.expire_all()
        return db.session.scalar(db.select(WebhookDelivery.voucher_code)) == bought["code"]

    wait_for(delivered, timeout=10)
    run_worker()
    assert _voucher(bought["code"]).is_provisioned


# ---- provisioning ------------------------------------------------------------------------------
def test_existing_patient_is_found_by_email_not_created(
    linked, client, sandbox, bondi_accounts, run_worker
):
    patient = next(p for p in sandbox.world.clinics[0].cliniko.table("patients") if p.get("email"))
    bought = _purchase(sandbox, bondi_accounts, email=patient["email"])
    _deliver(client, *_signed(bought))
    run_worker()
    assert _voucher(bought["code"]).cliniko_patient_id == str(patient["id"])
    assert _writes(sandbox, "/patients") == 0


def test_worker_killed_mid_provisioning_creates_nothing_twice(
    linked, client, sandbox, bondi_accounts, worker_process, run_worker, post
):
    bought = _purchase(sandbox, bondi_accounts, email="killed.mid@example.com")
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"upstream": "cliniko", "latency_ms": 700}, timeout=5
    )
    _deliver(client, *_signed(bought))
    proc = worker_process()
    wait_for(lambda: _writes(sandbox, "/patients") == 1, timeout=30)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    assert not _voucher(bought["code"]).is_provisioned
    # The tick's sweep notices the silent heartbeat and marks the run interrupted.
    wait_for(_sweep, timeout=20)
    listing = f"{BONDI}/jobs/?kind=vouchers.provision&status=interrupted"
    assert "1 in total" in client.get(listing).get_data(as_text=True)
    provisioning = db.session.scalar(db.select(JobRun).where(JobRun.kind == "vouchers.provision"))
    post(f"{BONDI}/jobs/{provisioning.id}/retry", {"mode": "unfinished"})
    run_worker()
    assert _voucher(bought["code"]).is_provisioned
    assert _writes(sandbox, "/patients") == 1
    assert _writes(sandbox, "/billable_items") == 1


def _sweep() -> int:
    """The stale-run sweep the scheduler's tick does each minute: how many runs it marked."""
    marked = sweep_stale_runs()
    db.session.commit()
    db.session.expire_all()
    return marked


def test_cliniko_outage_fails_the_item_and_schedules_a_retry(
    linked, client, sandbox, bondi_accounts, run_worker
):
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"upstream": "cliniko", "outage": True}, timeout=5
    )
    bought = _purchase(sandbox, bondi_accounts)
    _deliver(client, *_signed(bought))
    run_worker()
    run = db.session.scalar(db.select(JobRun).where(JobRun.kind == "vouchers.provision"))
    assert run.status == "failed"
    assert "retried automatically in 30 s" in run.message
    assert not _voucher(bought["code"]).is_provisioned


# ---- browser, page, button, figures ------------------------------------------------------------
def _seed_vouchers(demo, n=30):
    clinic = demo["clinics"]["bondi-physio"]
    for i in range(n):
        v = Voucher(
            clinic_id=clinic.id,
            code=f"GV{i:04d}",
            status="active" if i % 3 else "redeemed",
            value_cents=10000,
            balance_cents=10000 if i % 3 else 0,
            purchaser_name=f"Buyer {i}",
            purchaser_email=f"buyer{i}@example.com",
            cliniko_patient_id="77" if i in (4, 5) else None,
            cliniko_billable_item_id=str(1000 + i) if i % 2 else None,
            cliniko_used_cents=10000 if i == 7 else 0,
        )
        v.refresh_search_text()
        db.session.add(v)
    db.session.commit()


def test_search_filters_sort_and_pagination(demo, login, client):
    _seed_vouchers(demo)
    login("viewer@example.com")
    page = client.get(f"{BONDI}/vouchers/").get_data(as_text=True)
    assert "30 in total" in page
    assert "<html" in page
    fragment = client.get(f"{BONDI}/vouchers/?q=buyer1", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "<html" not in fragment
    assert "11 in total" in fragment  # buyer1, buyer10..buyer19
    assert "10 in total" in client.get(f"{BONDI}/vouchers/?status=redeemed").get_data(as_text=True)
    assert "15 in total" in client.get(f"{BONDI}/vouchers/?provisioned=no").get_data(as_text=True)
    used = client.get(f"{BONDI}/vouchers/?unredeemed_use=y").get_data(as_text=True)
    assert "GV0007" in used
    assert "1 in total" in used
    first = client.get(f"{BONDI}/vouchers/?sort=code").get_data(as_text=True)
    assert first.index("GV0000") < first.index("GV0001")


def test_export_is_what_is_filtered_and_spreadsheet_safe(demo, login, client):
    _seed_vouchers(demo)
    voucher = db.session.scalar(db.select(Voucher).where(Voucher.code == "GV0001"))
    voucher.purchaser_name = "=HYPERLINK(evil)"
    db.session.commit()
    login("viewer@example.com")
    text = client.get(f"{BONDI}/vouchers/export.csv?status=active").get_data(as_text=True)
    assert text.count("\n") == 21  # header + 20 active
    assert "'=HYPERLINK(evil)" in text
    found = client.get(f"{BONDI}/vouchers/export.csv?q=buyer+4").get_data(as_text=True)
    assert found.splitlines()[1:] == [
        "GV0004,active,100.00,100.00,,Buyer 4,buyer4@example.com,,,,77,"
    ]


def test_deep_links_follow_each_clinics_shard(demo):
    voucher = Voucher(code="AB C1", cliniko_patient_id="12", cliniko_billable_item_id="34")
    for shard in ("au2", "uk1", "ca1"):
        conn = Connection(details={"subdomain": "happyfeet", "shard": shard})
        links = voucher_links(voucher, conn)
        assert links.patient == ASSUMED_PATIENT_WEB_URL.format(
            subdomain="happyfeet", shard=shard, id="12"
        )
        assert f"happyfeet.{shard}.cliniko.com" in links.billable_item
        assert links.vaocherapp == "https://vaocher.app/o?c=AB%20C1"


def test_patient_button_lands_on_the_voucher_or_the_list(demo, login, client):
    _seed_vouchers(demo)
    clinic = demo["clinics"]["bondi-physio"]
    only = db.session.scalar(db.select(Voucher).where(Voucher.code == "GV0009"))
    only.cliniko_patient_id = "99"
    db.session.commit()
    button = f"{BONDI}/cliniko/patient?patient_id="
    anonymous = client.get(button + "99")
    assert "/login?next=" in anonymous.headers["Location"]
    login("viewer@example.com")
    assert client.get(button + "99").headers["Location"].endswith(f"{BONDI}/vouchers/GV0009")
    several = client.get(button + "77").headers["Location"]
    assert "patient_id=77" in several
    assert "2 in total" in client.get(several).get_data(as_text=True)
    assert "No vouchers for this patient" in client.get(button + "5").get_data(as_text=True)
    assert clinic.slug in several


def test_clinic_home_shows_liability_and_expiring(demo, login, client):
    _seed_vouchers(demo)
    soon, later, redeemed = (
        db.session.scalar(db.select(Voucher).where(Voucher.code == code))
        for code in ("GV0001", "GV0002", "GV0003")
    )
    soon.expires_at = utcnow() + timedelta(days=10)
    later.expires_at = utcnow() + timedelta(days=90)
    redeemed.expires_at = utcnow() + timedelta(days=5)  # redeemed: not a liability any more
    db.session.commit()
    login("viewer@example.com")
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert '<dd id="voucher-liability">$2,000.00</dd>' in page
    assert re.search(r'id="vouchers-expiring"><a [^>]+>1<', page)


def test_clinic_figures_are_cached_until_a_voucher_changes(demo, login, client):
    """The figures are kept in Redis per clinic, and forgotten when a voucher commits."""
    from portal.extensions import get_redis

    _seed_vouchers(demo)
    clinic = demo["clinics"]["bondi-physio"]
    key = f"portal:figures:clinic:{clinic.id}"
    login("viewer@example.com")
    assert '<dd id="voucher-liability">$2,000.00</dd>' in client.get(f"{BONDI}/").get_data(True)
    assert get_redis().exists(key)
    voucher = db.session.scalar(db.select(Voucher).where(Voucher.code == "GV0001"))
    voucher.balance_cents -= 50000
    db.session.flush()
    assert get_redis().exists(key)  # not before the change commits
    db.session.commit()
    assert not get_redis().exists(key)
    assert '<dd id="voucher-liability">$1,500.00</dd>' in client.get(f"{BONDI}/").get_data(True)


# ---- voucher page actions ----------------------------------------------------------------------
def test_mark_redeemed_confirms_the_amount_and_redeems_once(
    linked, client, post, sandbox, bondi_accounts, run_worker
):
    bought = _purchase(sandbox, bondi_accounts)
    _deliver(client, *_signed(bought))
    run_worker()
    confirm = client.get(f"{BONDI}/vouchers/{bought['code']}/redeem").get_data(as_text=True)
    assert "whole remaining balance of $150.00" in confirm
    refused = post(f"{BONDI}/vouchers/{bought['code']}/redeem", {"expected_cents": "15000"})
    assert "Yes, redeem $150.00" in refused.get_data(as_text=True)  # no "yes": only asks
    assert _voucher(bought["code"]).balance_cents == 15000
    done = post(
        f"{BONDI}/vouchers/{bought['code']}/redeem", {"expected_cents": "15000", "confirmed": "1"}
    )
    assert done.status_code == 303
    assert _voucher(bought["code"]).balance_cents == 0
    again = post(
        f"{BONDI}/vouchers/{bought['code']}/redeem",
        {"expected_cents": "15000", "confirmed": "1"},
        follow_redirects=True,
    )
    assert "nothing left to redeem" in again.get_data(as_text=True)
    log = requests.get(f"{sandbox.url}/_sandbox/requests?upstream=vaocherapp", timeout=5).json()
    assert sum(1 for r in log["requests"] if r["path"].endswith("/redeem")) == 1
    timeline = client.get(f"{BONDI}/vouchers/{bought['code']}").get_data(as_text=True)
    assert "$150.00 redeemed in VaocherApp by Morgan Manager" in timeline


def test_backfill_imports_vouchers_from_vaocherapp(linked, post, run_worker, sandbox):
    post(f"{BONDI}/vouchers/backfill")
    run_worker()
    remote = sandbox.world.clinics[0].vaocherapp.live.vouchers
    assert db.session.scalar(db.select(db.func.count()).select_from(Voucher)) == len(remote)


def _with_queue_down(app, action):
    """Run `action` while the portal's Redis client points at a port nothing listens on."""
    live = app.extensions["portal.redis"]
    app.extensions["portal.redis"] = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        return action()
    finally:
        app.extensions["portal.redis"] = live


def test_webhook_while_the_queue_is_down_is_kept_and_the_tick_starts_its_intake(
    linked, client, sandbox, bondi_accounts, run_worker, app
):
    bought = _purchase(sandbox, bondi_accounts)
    body, signature = _signed(bought)
    response = _with_queue_down(app, lambda: _deliver(client, body, signature))
    assert response.status_code == 202  # stored: VaocherApp need not send it again
    assert db.session.scalar(db.select(WebhookDelivery.status)) == "received"

    assert start_waiting_intakes(utcnow()) == []  # too young: its own request queues it
    later = utcnow() + timedelta(minutes=2)
    assert len(start_waiting_intakes(later)) == 1
    run_worker()
    assert _voucher(bought["code"]).value_cents == 15000
    assert db.session.scalar(db.select(WebhookDelivery.status)) == "processed"
    assert start_waiting_intakes(later) == []


def test_a_re_sent_webhook_restarts_the_intake_its_first_delivery_could_not_queue(
    linked, client, sandbox, bondi_accounts, run_worker, app
):
    bought = _purchase(sandbox, bondi_accounts)
    body, signature = _signed(bought)
    _with_queue_down(app, lambda: _deliver(client, body, signature))
    again = _deliver(client, body, signature)
    assert again.get_json()["status"] == "duplicate"
    run_worker()
    assert _voucher(bought["code"]).value_cents == 15000
