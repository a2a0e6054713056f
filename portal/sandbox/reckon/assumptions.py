"""Every Reckon One rule the emulator follows that no public source confirms, in one place.

Sources are named as in /work/shared/upstreams/reckon.md: [DOC] Reckon help/APIM portal,
[SPEC] the public v2 OpenAPI copy, [CODE] third-party clients, [INF] our inference. Anything tagged
[INF] here is a guess: correct it when real traffic disagrees, and the emulator follows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# --- Identity server ------------------------------------------------------------------------
ACCESS_TOKEN_TTL = 10800  # [CODE] expires_in 10800 (180 min)
REFRESH_TOKEN_SLIDING_TTL = 45 * 86400  # [CODE] 45 days rolling
REFRESH_TOKEN_ABSOLUTE_TTL = 365 * 86400  # [CODE] 12 months absolute
AUTH_CODE_TTL = 300  # [INF] IdentityServer's default authorization-code lifetime
REDIRECT_HOSTS = ("127.0.0.1", "localhost")  # [INF] sandbox only accepts loopback http callbacks
# [DOC] "always ask for read, write and offline access"
KNOWN_SCOPES = ("openid", "read", "write", "offline_access")
APP_NAME = "Clinic Portal (sandbox)"  # what the consent page calls the registered app
# [INF] IdentityServer accepts client_secret_post as well as Basic; Reckon documents Basic only.
ALLOW_CLIENT_SECRET_POST = True

# --- API gateway (APIM) and API error bodies ------------------------------------------------------
MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)  # [DOC]
# [INF] APIM's stock wording for a wrong key; Reckon's docs only show the missing-key body.
INVALID_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
BAD_BEARER = "Authorization has been denied for this request."  # [DOC/SPEC]
NOT_FOUND = "Resource not found."  # [SPEC]
FORBIDDEN = "User does not have permission to access this resource."  # [SPEC example]
INVALID_REQUEST = "The request is invalid."  # [INF] ASP.NET's ModelState wording; spec shows a stub
# [SPEC example for 415]
UNSUPPORTED_PATCH = "{} is not supported. Please use content-type application/merge-patch+json."
HEARTBEAT = {"status": "OK", "version": "1.0.5473.0", "description": "R1 Public API Version 2"}


def throttled_body(seconds: int) -> dict[str, Any]:
    """Azure APIM's rate-limit body (the limit itself is not published, so it is off by default)."""
    return {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }


# [INF] a token without the `write` scope may read but not change anything (403).
WRITE_NEEDS_SCOPE = "write"
# [INF] a known book the user cannot reach is 403, an unknown book id 404.


# --- Lists ----------------------------------------------------------------------------------------
DEFAULT_PERPAGE = 10  # [DOC HELP 6dwfu9hgta]
MAX_PERPAGE = 1000  # [INF] maximum unknown (100 is confirmed to work); above it is a 400
# [INF] filter paths are matched case-insensitively (docs write `invoicedate` for `invoiceDate`);
# string `eq` is case-sensitive [DOC]; a missing field compares as null.

# --- Books ----------------------------------------------------------------------------------------
BOOK_PRODUCT = {"name": "InvoicingMedium", "portalProductId": "CICL0UD1M"}  # [SPEC example]

# --- Tax, invoices, receipts ----------------------------------------------------------------------
# AU codes [DOC community.reckon.com/discussion/8030921]; rates/flags of INP, EXP, N-T are [INF].
# (name, description, rate, useOnSales, useOnPurchases)
TAX_RATES = (
    ("GST", "GST on sales", Decimal("10"), True, False),
    ("FRE", "GST free sales", Decimal("0"), True, False),
    ("INP", "Input taxed sales", Decimal("0"), True, False),
    ("EXP", "Export sales", Decimal("0"), True, False),
    ("NCG", "GST on non-capital purchases", Decimal("10"), False, True),
    ("NCF", "GST free non-capital purchases", Decimal("0"), False, True),
    ("CAG", "GST on capital purchases", Decimal("10"), False, True),
    ("N-T", "Not reportable", Decimal("0"), True, True),
)
CENT = Decimal("0.01")  # [DOC] tax is rounded to the cent per line, half-up (ATO rounding)
# [INF] When the header is Exclusive, `totalAmount` is still the grand total (net + tax), so that
# balance == totalAmount on issue. One client adds totalTaxAmount itself: flip this to emulate that.
EXCLUSIVE_TOTAL_INCLUDES_TAX = True
# [DOC HELP o9yzfx5kcg "Money in settings"] the "Approval process" is a book setting ("By
# enabling the Approval process, you will be able to manage the Invoice status from Draft to
# Approved"), read and patched as `approvalEnabled` at /{bookId}/settings/invoice [SPEC].
# [INF] a book starts without it; without it an invoice is Approved as soon as it is saved, API
# creates included; with it, API creates start as Draft (InvoiceInput has no status) and are
# approved with PATCH {"status":"Approved"} (a PUT carrying status is honoured too). Paid is
# never set directly: it follows balance == 0, and an invoice with receipts cannot go back to
# Draft.
INVOICE_APPROVAL_DEFAULT = False
# [INF] False emulates an API that creates every invoice as Draft whatever the setting says (the
# portal reads one invoice back per run to find out; tests flip this).
APPROVAL_SETTING_HONOURED = True
# [INF] classifications are rejected (the seeded books have none).
INVOICE_NUMBER = "INV{:04d}"  # [SPEC example INV0123; INF per-book sequence]
RECEIPT_NUMBER = "RCPT{:04d}"  # [SPEC example RCPT0015]
# [INF] a line without taxRate takes the item's sale tax rate, else N-T (0%).
DEFAULT_LINE_TAX = "N-T"
# [INF] v1 rejected client tax that disagreed ("Tax for line 1 is incorrect"); a taxAmount sent
# without taxIsModified=true must equal the computed tax.
# [INF] an account line's `amount` is the line total; `quantity` is informational.
# [INF] invoice-level discounts (invoiceDiscountAmount/Percent) are stored but not applied.
# [INF] a receipt may only be banked to a bank or credit-card account (or a clearing account,
# which books set up as a bank account).
RECEIPT_ACCOUNT_TYPES = ("CurrentAsset_Bank", "CurrentLiability_CreditCard")
# [INF] receipt links must target an Approved/Paid invoice of the same customer; a link may not
# exceed the invoice balance, the links may not exceed the receipt total; an invoice with
# receipts allocated cannot be deleted or return to Draft.
# [INF] customer and item names are unique per book, compared case-insensitively.
# [INF] an invoice's total may not be negative: money owed back to a customer is a credit note.
NEGATIVE_INVOICE = "The invoice total cannot be negative. Use a credit note instead."

# --- Credit notes [SPEC CreditNote*, LinkedTransactionType] ---------------------------------------
# [SPEC] status cannot be set by POST/PUT, only PATCH: so API-created credit notes start as Draft
# [INF], like invoices, and are approved with PATCH {"status":"Approved"}.
CREDIT_NOTE_INITIAL_STATUS = "Draft"
CREDIT_NOTE_NUMBER = "CN{:04d}"  # [INF] numbering shape (the spec shows no example)
# [INF] `balance` is what has not been applied to invoices; an approved credit note whose balance
# reaches 0 becomes Closed (the spec's third status) and returns to Approved if a link is removed.
# [INF] a transaction link (POST /creditNotes/{id}/transactionLinks) may only target an
# Approved/Paid invoice of the same customer, for no more than the invoice's balance nor the
# credit note's; it reduces both balances. Its linkId is "INV-<guid>" (the spec's example shape).
# [INF] only the Invoice link type is emulated; a Draft credit note cannot be linked.
# [INF] a customer's `balance` is its issued invoices' balances less its approved credit notes'.

# --- Receipts with line items -----------------------------------------------------------------
# [INF] a receipt's lineItems (money coded straight to accounts, e.g. a voucher sale credited to a
# liability) take the invoice line shape and are tax-inclusive; allocations plus line totals may
# not exceed totalAmount, and what is left over stays as the customer's unallocated credit.

# --- Payment terms [SPEC PaymentTerm, /terms] ---------------------------------------------------
# [INF] a new book has these terms; "Due on receipt" is the book's default (isDefault).
# (name, netDueDay, netDueDaySelection, isDefault)
PAYMENT_TERMS = (
    ("Due on receipt", 0, "DaysAfterIssue", True),
    ("Net 7 days", 7, "DaysAfterIssue", False),
    ("Net 14 days", 14, "DaysAfterIssue", False),
    ("Net 30 days", 30, "DaysAfterIssue", False),
    ("20th of next month", 20, "DayOfNextMonth", False),
)
# [INF] an invoice's dueDate: as sent, else from its paymentTerms, else the customer's terms,
# else the book's default term. DayOfMonth past the invoice date rolls to the next month.

# --- Ledger account balances [SPEC LedgerAccount.balance] ---------------------------------------
# [INF] balances are computed from the documents: an issued invoice debits Accounts Receivable
# with its total and credits each line's account (an item's sale account) with the line net of
# tax and "GST Collected" with the tax; an approved credit note does the reverse; a receipt
# debits its bank account with its total, credits its line items' accounts (net, tax to GST) and
# Accounts Receivable with the rest. Debit-natured accounts (isDebit) show debits less credits,
# the others credits less debits; Draft documents post nothing.
RECEIVABLE_ACCOUNT = "Accounts Receivable"
TAX_ACCOUNT = "GST Collected"
