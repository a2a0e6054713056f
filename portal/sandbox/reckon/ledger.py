"""Ledger account balances computed from the book's documents (assumptions: "Ledger account
balances")."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from . import assumptions as A
from .money import ZERO, cents
from .store import Book, Record


def line_gross_and_tax(line: Record, tax_status: str) -> tuple[Decimal, Decimal]:
    """A stored line's amount and tax as the document states them."""
    tax: Decimal = line.get("taxAmount") or ZERO
    if line.get("itemDetails"):
        d = line["itemDetails"]
        amount = cents(d["price"] * d["quantity"]) - (d.get("discountAmount") or ZERO)
    else:
        amount = (line.get("accountDetails") or {}).get("amount") or ZERO
    return (amount + tax, tax) if tax_status == "Exclusive" else (amount, tax)


def _line_account(book: Book, line: Record) -> str | None:
    if line.get("accountDetails"):
        account = line["accountDetails"].get("ledgerAccount")
        return account["id"] if account else None
    item_ref = (line.get("itemDetails") or {}).get("item")
    item = book.items.get(item_ref["id"]) if item_ref else None
    sale = (item or {}).get("sale") or {}
    return sale["ledgerAccount"]["id"] if sale.get("ledgerAccount") else None


def _post_lines(book: Book, debits: dict[str, Decimal], doc: Record, sign: int) -> Decimal:
    """Post a document's lines (sign -1 credits them); returns their gross total."""
    tax_account = book.ledgeraccounts.resolve(A.TAX_ACCOUNT)
    gross_total = ZERO
    for line in doc.get("lineItems") or []:
        gross, tax = line_gross_and_tax(line, doc.get("amountTaxStatus") or "Inclusive")
        account = _line_account(book, line)
        if account:
            debits[account] += sign * (gross - tax)
        if tax_account and tax:
            debits[tax_account["id"]] += sign * tax
        gross_total += gross
    return gross_total


def balances(book: Book) -> dict[str, Decimal]:
    """Every account's balance, in its natural sign."""
    debits: dict[str, Decimal] = defaultdict(lambda: ZERO)
    receivable = book.ledgeraccounts.resolve(A.RECEIVABLE_ACCOUNT)
    ar = receivable["id"] if receivable else ""
    for invoice in book.invoices.values():
        if invoice["status"] != "Draft":
            debits[ar] += invoice["totalAmount"]
            _post_lines(book, debits, invoice, -1)
    for note in book.creditnotes.values():
        if note["status"] != "Draft":
            debits[ar] -= note["totalAmount"]
            _post_lines(book, debits, note, 1)
    for receipt in book.receipts.values():
        bank = receipt.get("ledgerAccount")
        if bank:
            debits[bank["id"]] += receipt["totalAmount"]
        coded = _post_lines(book, debits, receipt, -1)
        debits[ar] -= receipt["totalAmount"] - coded
    return {
        account["id"]: debits[account["id"]] * (1 if account["isDebit"] else -1)
        for account in book.ledgeraccounts.values()
    }
