"""EVERY GUESS THE VAOCHERAPP EMULATOR MAKES ABOUT THE REAL VAOCHERAPP API, IN ONE PLACE.

No public source confirms anything here (vaocherapp.md tags them [INFERRED]). When real traffic
disagrees, fix it here: the emulator reads these names, never hard-codes them.
"""

from __future__ import annotations

import json
from typing import Any

# [INFERRED] Status strings; "partly used" is active with a lower balance (§5).
VOUCHER_ACTIVE = "active"
VOUCHER_REDEEMED = "redeemed"
VOUCHER_VOIDED = "voided"
VOUCHER_EXPIRED = "expired"

# [INFERRED] Laravel's default JSON date format, since the stack looks like Laravel (§3).
VAOCHERAPP_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def vaocherapp_error(message: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """[INFERRED] Laravel-style error body: {"message", "errors": {field: [messages]}}."""
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return body


VAOCHERAPP_UNAUTHENTICATED = "Unauthenticated."
VAOCHERAPP_NOT_FOUND = "Gift voucher not found."
VAOCHERAPP_THROTTLED = "Too Many Attempts."


def voucher_json(v: Any, stamp: Any) -> dict[str, Any]:
    """[INFERRED] Documented fields (id, code, remain_balance, expiry, status, created_at,
    updated_at) plus our guesses: amount, currency, purchaser_*, recipient_*, order_*."""
    return {
        "id": v.id,
        "code": v.code,
        "remain_balance": v.remain_balance,
        "expiry": stamp(v.expiry),
        "status": v.status,
        "created_at": stamp(v.created_at),
        "updated_at": stamp(v.updated_at),
        # ---- guesses below this line ----
        "amount": v.amount,
        "currency": v.currency,
        "purchaser_name": v.purchaser_name,
        "purchaser_email": v.purchaser_email,
        "recipient_name": v.recipient_name,
        "recipient_email": v.recipient_email,
        "message": v.message,
        "order_id": v.order_id,
        "order_number": v.order_number,
    }


def transaction_json(t: Any, stamp: Any) -> dict[str, Any]:
    """[INFERRED] A ledger entry; the docs only say a transaction history exists (§6)."""
    return {
        "id": t.id,
        "type": t.kind,
        "amount": t.amount,
        "reason": t.reason,
        "created_at": stamp(t.created_at),
    }


def vaocherapp_page(
    items: list[dict[str, Any]], page: int, per_page: int, total: int, path: str, extra: str = ""
) -> dict[str, Any]:
    """[INFERRED] The list endpoint and its envelope: Laravel's paginated resource collection."""
    last = max(1, -(-total // per_page))
    link = f"{path}?{extra}per_page={per_page}&page="
    return {
        "data": items,
        "links": {
            "first": f"{link}1",
            "last": f"{link}{last}",
            "prev": f"{link}{page - 1}" if page > 1 else None,
            "next": f"{link}{page + 1}" if page < last else None,
        },
        "meta": {
            "current_page": page,
            "last_page": last,
            "per_page": per_page,
            "total": total,
            "path": path,
        },
    }


VAOCHERAPP_LIST_PATH = "/v1/vouchers"  # [INFERRED] GET ?page=&per_page=&updated_since=
VAOCHERAPP_DEFAULT_PER_PAGE = 50
VAOCHERAPP_MAX_PER_PAGE = 100

# [INFERRED] Machine event names and the webhook body; the docs give display names only (§7).
EVENT_CREATED = "voucher.created"
EVENT_UPDATED = "voucher.updated"
EVENT_REDEEMED = "voucher.redeemed"
# [INFERRED] Test-mode activity fires no webhooks; live purchases, redeems and voids do.
WEBHOOKS_FOR_TEST_MODE = False
WEBHOOK_SIGNATURE_HEADER = "signature"  # documented: hex HMAC-SHA256 of the raw body


def webhook_body(event: str, voucher: dict[str, Any]) -> bytes:
    """[INFERRED] {"event", "data": <voucher>}, serialised once so we sign what we send."""
    return json.dumps({"event": event, "data": voucher}, separators=(",", ":")).encode()
