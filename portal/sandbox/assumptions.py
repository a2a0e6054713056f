"""EVERY GUESS THE SANDBOX MAKES ABOUT THE REAL SERVICES, IN ONE PLACE.

No public source confirms anything here (cliniko.md and vaocherapp.md tag them [I]/[INFERRED]).
When real traffic disagrees, fix it here: the emulators read these names, never hard-code them.
"""

from __future__ import annotations

import json
from typing import Any

# --------------------------------------------------------------------------------------------------
# Cliniko (cliniko.md)
# --------------------------------------------------------------------------------------------------

# [I] The docs say requests lacking these headers "may be automatically blocked"; status is ours.
CLINIKO_MISSING_USER_AGENT = (
    403,
    {
        "message": "A User-Agent with your app name and contact email "
        "is required, e.g. 'My app (dev@example.com)'."
    },
)
CLINIKO_NOT_ACCEPTABLE = (406, {"message": "Only application/json is supported."})
# [I] The 401 body is not documented; the issue title suggests the Rails text.
CLINIKO_UNAUTHORIZED_TEXT = "HTTP Basic: Access denied.\n"
# [I] The 404 body is not documented.
CLINIKO_NOT_FOUND = {"message": "Not found"}
# [I] Rack::Attack's default throttled answer; the docs only promise 429 + X-RateLimit-Reset.
CLINIKO_THROTTLED_TEXT = "Retry later\n"
# [I] The docs cap per_page at 100 but do not say what 101 does; we clamp.
CLINIKO_CLAMPS_PER_PAGE = True
# [I] GET /{resource}/{id} of an archived row: we still return it (the docs hint it may need q[]).
CLINIKO_GET_ARCHIVED_BY_ID = True
# [I] Unknown reference ids once gave 500 (ISS#215); we answer the Rails validation instead.
CLINIKO_MISSING_REFERENCE = "must exist"
# [I] Rails routing: a method a resource does not support (POST /invoices) is a 404, not a 405.
CLINIKO_UNROUTED_STATUS = 404
# The 2025 OpenAPI types these as numbers, the old examples as strings; we follow the OpenAPI.
CLINIKO_INVOICE_ITEM_NUMBER_FIELDS = frozenset(
    {"discount_percentage", "tax_rate", "tax_amount", "total_including_tax"}
)
CLINIKO_TAX_NUMBER_FIELDS = frozenset({"rate", "amount"})
# [I] String '=' is an exact, case-sensitive match; '~' and '~~' ignore case.
CLINIKO_STRING_EQUALS_CASE_SENSITIVE = True
# [I] Status 40 "Open credit" for an invoice whose voucher line exceeds the treatment.
CLINIKO_STATUS_DESCRIPTIONS = {10: "Open", 20: "Paid", 30: "Closed", 40: "Open credit"}

# [I] UNVERIFIED: the "Invoice items" data export's real headers were not found anywhere (§6).
CLINIKO_INVOICE_ITEMS_CSV_HEADERS = (
    "Invoice Number",
    "Issue Date",
    "Patient",
    "Patient ID",
    "Practitioner",
    "Business",
    "Item",
    "Item Code",
    "Item Type",
    "Quantity",
    "Unit Price",
    "Discount",
    "Tax Name",
    "Tax Rate",
    "Total",
    "Invoice Status",
    "Invoice Item ID",
    "Invoice ID",
    "Archived",
)

# --------------------------------------------------------------------------------------------------
# VaocherApp (vaocherapp.md)
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Reckon One (reckon.md) — only the gateway's 429 lives here; the rest is the Reckon emulator's.
# --------------------------------------------------------------------------------------------------


def reckon_throttled(seconds: int) -> dict[str, Any]:
    """Azure APIM's rate-limit body (the limit itself is not published, so it is off by default)."""
    return {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }
