"""VaocherApp webhooks and staff actions via the control plane (vaocherapp.md §6-§7)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from tests.fixtures.sandbox import SandboxHandle, WebhookReceiver


def _register(sandbox: SandboxHandle, receiver: WebhookReceiver, secret: str = "s3cret") -> str:  # noqa: S107
    key = sandbox.clinic()["vaocherapp"]["api_key"]
    body = {"api_key": key, "url": receiver.url, "secret": secret}
    assert requests.post(f"{sandbox.url}/_sandbox/vaocherapp/webhooks", json=body, timeout=10).ok
    return key


def _purchase(sandbox: SandboxHandle, key: str, **extra: object) -> requests.Response:
    body = {
        "api_key": key,
        "value": 12500,
        "purchaser_name": "Grace Lee",
        "purchaser_email": "grace.lee@example.com",
        **extra,
    }
    return requests.post(f"{sandbox.url}/_sandbox/vaocherapp/purchase", json=body, timeout=10)


def test_purchase_fires_signed_voucher_created(
    sandbox: SandboxHandle, webhook_receiver: WebhookReceiver
) -> None:
    """vaocherapp.md §7: header `signature` = hex HMAC-SHA256(secret, raw body)."""
    key = _register(sandbox, webhook_receiver)
    response = _purchase(sandbox, key, recipient_name="Mia Chen", recipient_email="mia@example.com")
    assert response.status_code == 201
    voucher = response.json()
    headers, raw = webhook_receiver.wait_for(1)[0]
    expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert headers["Signature"] == expected
    payload = json.loads(raw)
    assert payload["event"] == "voucher.created"
    assert payload["data"]["code"] == voucher["code"]
    assert payload["data"]["remain_balance"] == 12500
    assert payload["data"]["recipient_email"] == "mia@example.com"


def test_purchased_voucher_is_visible_through_the_api(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §4: a sold voucher can be looked up by code; default expiry 12 months."""
    key = sandbox.clinic()["vaocherapp"]["api_key"]
    voucher = _purchase(sandbox, key).json()
    base, session = sandbox.vaocherapp()
    fetched = session.get(f"{base}/vouchers/{voucher['code']}", timeout=10).json()
    assert fetched["status"] == "active"
    assert fetched["expiry"] is not None
    never = _purchase(sandbox, key, expiry=None).json()
    assert never["expiry"] is None


def test_api_redeem_fires_voucher_redeemed(
    sandbox: SandboxHandle, webhook_receiver: WebhookReceiver
) -> None:
    """vaocherapp.md §7: 'Gift voucher redeemed' event (machine name assumed)."""
    key = _register(sandbox, webhook_receiver)
    voucher = _purchase(sandbox, key).json()
    base, session = sandbox.vaocherapp()
    url = f"{base}/vouchers/{voucher['code']}/redeem"
    session.post(url, json={"amount": 2500}, timeout=10)
    events = [json.loads(raw)["event"] for _, raw in webhook_receiver.wait_for(2)]
    assert events == ["voucher.created", "voucher.redeemed"]


def test_deliveries_are_recorded(sandbox: SandboxHandle, webhook_receiver: WebhookReceiver) -> None:
    """Sandbox control plane: GET /_sandbox/vaocherapp/webhook-deliveries shows status/outcome."""
    key = _register(sandbox, webhook_receiver)
    webhook_receiver.status = 500
    _purchase(sandbox, key)
    webhook_receiver.wait_for(1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = requests.get(
            f"{sandbox.url}/_sandbox/vaocherapp/webhook-deliveries", timeout=10
        ).json()["deliveries"]
        if records and records[0]["outcome"] != "pending":
            break
        time.sleep(0.02)
    assert records[0]["status"] == 500
    assert records[0]["outcome"] == "rejected"
    assert records[0]["event"] == "voucher.created"


def test_unreachable_webhook_is_recorded_as_failed(sandbox: SandboxHandle) -> None:
    """Sandbox control plane: a receiver that is down is a failed delivery, not a crash."""
    key = sandbox.clinic()["vaocherapp"]["api_key"]
    body = {"api_key": key, "url": "http://127.0.0.1:9/nothing", "secret": "x"}
    requests.post(f"{sandbox.url}/_sandbox/vaocherapp/webhooks", json=body, timeout=10)
    _purchase(sandbox, key)
    deadline = time.monotonic() + 5
    outcome = "pending"
    while outcome == "pending" and time.monotonic() < deadline:
        records = requests.get(
            f"{sandbox.url}/_sandbox/vaocherapp/webhook-deliveries", timeout=10
        ).json()["deliveries"]
        outcome = records[0]["outcome"]
        time.sleep(0.02)
    assert outcome == "failed"


def test_webhook_registrations_list_and_clear(sandbox: SandboxHandle) -> None:
    """Sandbox control plane: GET lists and DELETE clears an account's webhooks."""
    key = sandbox.clinic()["vaocherapp"]["api_key"]
    url = f"{sandbox.url}/_sandbox/vaocherapp/webhooks"
    requests.post(
        url, json={"api_key": key, "url": "http://127.0.0.1:1/x", "secret": "s"}, timeout=10
    )
    assert len(requests.get(url, params={"api_key": key}, timeout=10).json()["webhooks"]) == 1
    assert requests.delete(url, params={"api_key": key}, timeout=10).status_code == 204
    assert requests.get(url, params={"api_key": key}, timeout=10).json()["webhooks"] == []


def test_staff_redeem_and_void(sandbox: SandboxHandle, webhook_receiver: WebhookReceiver) -> None:
    """vaocherapp.md §6-§7: staff redeem by hand (voucher.redeemed) and void (voucher.updated)."""
    key = _register(sandbox, webhook_receiver)
    code = _purchase(sandbox, key).json()["code"]
    redeemed = requests.post(
        f"{sandbox.url}/_sandbox/vaocherapp/redeem",
        json={"api_key": key, "code": code, "amount": 500, "reason": "At reception"},
        timeout=10,
    )
    assert redeemed.json()["remain_balance"] == 12000
    voided = requests.post(
        f"{sandbox.url}/_sandbox/vaocherapp/void", json={"api_key": key, "code": code}, timeout=10
    )
    assert voided.json()["status"] == "voided"
    events = [json.loads(raw)["event"] for _, raw in webhook_receiver.wait_for(3)]
    assert sorted(events) == ["voucher.created", "voucher.redeemed", "voucher.updated"]
