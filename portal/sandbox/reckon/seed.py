"""Seed one AU, GST-registered Reckon One book per clinic: tax codes, accounts, methods, types."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

from .assumptions import PAYMENT_TERMS, TAX_RATES
from .store import Book, ref

# (name, accountType, accountCode, default tax code) [INF: a plausible AU small-practice chart]
LEDGER_ACCOUNTS = (
    ("Cheque Account", "CurrentAsset_Bank", "1-1110", None),
    ("Cliniko Clearing", "CurrentAsset_Bank", "1-1190", None),
    ("VaocherApp Clearing", "CurrentAsset_Bank", "1-1195", None),
    ("Accounts Receivable", "CurrentAsset_AccountsReceivable", "1-1200", None),
    ("Business Credit Card", "CurrentLiability_CreditCard", "2-1100", None),
    ("GST Collected", "CurrentLiability_Other", "2-1310", None),
    ("Gift Voucher Liability", "CurrentLiability_Other", "2-1500", "N-T"),
    ("Owner's Equity", "Equity", "3-1000", None),
    ("Income", "Income", "4-0000", "GST"),
    ("Sales - Services", "Income", "4-1000", "FRE"),
    ("Sales - Products", "Income", "4-2000", "GST"),
    ("Voucher Breakage", "Income", "4-3000", "N-T"),
    ("Bank Fees", "Expense", "6-1000", "NCF"),
    ("Merchant Fees", "Expense", "6-1100", "NCG"),
    ("Bad Debts", "Expense", "6-1200", None),
)
DEBIT_TYPES = ("CurrentAsset", "NonCurrentAsset", "Expense")
PAYMENT_METHODS = ("Cash", "Cheque", "EFTPOS", "Credit Card", "HICAPS", "Direct Deposit")
ADDRESS_TYPES = ("Billing", "Postal", "Shipping", "Business")  # [SPEC/CODE names; set is INF]
PHONE_TYPES = ("Work", "Mobile", "Phone", "Fax")
ELECTRONIC_ADDRESS_TYPES = ("Email", "Website")


def iso(moment: datetime) -> str:
    """Reckon's date-time wire format, e.g. `2020-02-06T12:00:00Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_book(seed: int, index: int, name: str, now: datetime) -> Book:
    """Build a book whose ids depend only on the seed and the clinic's position."""
    rng = random.Random(f"reckon:{seed}:{index}")
    book = Book(id="", name=name, rng=rng)
    book.id = book.new_id()
    _seed_tax_rates(book)
    _seed_accounts(book, iso(now))
    for name, day, selection, default in PAYMENT_TERMS:
        book.terms.put(
            {
                "id": book.new_id(),
                "name": name,
                "description": name,
                "status": "Active",
                "isDefault": default,
                "useForInvoice": True,
                "netDueDay": day,
                "netDueDaySelection": selection,
                "isDueDateWeekend": False,
                "isIssuedWithinDays": False,
                "issuedWithinDays": 0,
            }
        )
    for method in PAYMENT_METHODS:
        book.paymentmethods.put({"id": book.new_id(), "name": method})
    for coll, names in (
        (book.addresstypes, ADDRESS_TYPES),
        (book.phonetypes, PHONE_TYPES),
        (book.electronicaddresstypes, ELECTRONIC_ADDRESS_TYPES),
    ):
        for type_name in names:
            coll.put({"id": book.new_id(), "name": type_name, "status": "Active"})
    return book


def _seed_tax_rates(book: Book) -> None:
    """The AU tax codes, sales and purchase."""
    for code, description, rate, sales, purchases in TAX_RATES:
        book.taxrates.put(
            {
                "id": book.new_id(),
                "name": code,
                "description": description,
                "rate": rate,
                "status": "Active",
                "useOnPurchases": purchases,
                "useOnSales": sales,
            }
        )


def _seed_accounts(book: Book, stamp: str) -> None:
    """A small chart of accounts, with the clearing and voucher-liability accounts."""
    for order, (name, kind, code, tax_code) in enumerate(LEDGER_ACCOUNTS, start=1):
        tax = book.taxrates.resolve(tax_code) if tax_code else None
        book.ledgeraccounts.put(
            {
                "id": book.new_id(),
                "name": name,
                "fullName": name,
                "description": name,
                "isDebit": kind.startswith(DEBIT_TYPES),
                "sortOrder": order,
                "status": "Active",
                "defaultTaxRate": ref(tax) if tax else None,
                "accountType": kind,
                "accountCode": code,
                "balance": Decimal("0.00"),
                "lastModifiedDateTime": stamp,
            }
        )
