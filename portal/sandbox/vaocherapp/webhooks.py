"""Signed VaocherApp webhooks, sent in the background and recorded for tests (vaocherapp.md §7)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import threading
from typing import Any

import requests

from ..core import iso_z
from . import assumptions as guess

TIMEOUT_SECONDS = 5.0
_ids = itertools.count(1)


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the raw body keyed with the webhook secret (documented)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _deliver(record: dict[str, Any], body: bytes, secret: str, lock: threading.Lock) -> None:
    try:
        response = requests.post(
            record["url"],
            data=body,
            timeout=TIMEOUT_SECONDS,
            headers={
                "Content-Type": "application/json",
                guess.WEBHOOK_SIGNATURE_HEADER: sign(secret, body),
            },
        )
        outcome: dict[str, Any] = {
            "status": response.status_code,
            "outcome": "delivered" if response.ok else "rejected",
        }
    except Exception as exc:
        outcome = {"status": None, "outcome": "failed", "error": type(exc).__name__}
    with lock:
        record.update(outcome)


def fire(world: Any, account: Any, event: str, voucher: dict[str, Any]) -> list[dict[str, Any]]:
    """POST the event to every URL the account registered; returns the pending delivery records."""
    body = guess.webhook_body(event, voucher)
    records = []
    for hook in list(account.webhooks):
        record = {
            "id": next(_ids),
            "account_id": account.id,
            "event": event,
            "url": hook["url"],
            "voucher_code": voucher.get("code"),
            "status": None,
            "outcome": "pending",
            "at": iso_z(world.clock.now()),
        }
        with world.deliveries_lock:
            world.webhook_deliveries.append(record)
        thread = threading.Thread(
            target=_deliver,
            daemon=True,
            name="sandbox-webhook",
            args=(record, body, hook["secret"], world.deliveries_lock),
        )
        thread.start()
        records.append(record)
    return records
