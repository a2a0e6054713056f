"""EVERY GUESS THE CLINIKO EMULATOR MAKES ABOUT THE REAL CLINIKO API, IN ONE PLACE.

No public source confirms anything here (cliniko.md tags them [I]). When real traffic disagrees,
fix it here: the emulator reads these names, never hard-codes them.
"""

from __future__ import annotations

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
