"""Receipts (money in): allocations reduce invoice balances, RCPT numbering [SPEC §9]."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from . import assumptions as A
from .http import api_blueprint, reckon
from .invoices import _line
from .money import ZERO, refresh_customer, settle
from .resources import Resource, register
from .seed import iso
from .store import Book, Record, ref
from .validate import Checker

bp = api_blueprint("reckon_receipts")


def _own_allocations(old: Record | None) -> dict[str, Decimal]:
    """What the receipt being replaced already holds on each invoice (released on update)."""
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for link in (old or {}).get("transactionLinks", []):
        held[link["transactionId"]] += link["transactionAmount"]
    return held


def _link(book: Book, c: Checker, customer: Record | None) -> tuple[Record, Decimal] | None:
    """One ReceiptTransactionLinkInput, checked against its invoice; None when unusable."""
    c.choice("transactionType", ("Invoice",))  # [INF] only invoice allocations are emulated
    amount = c.decimal("transactionAmount", required=True)
    invoice_id = c.text("transactionId", required=True)
    invoice = book.invoices.get(invoice_id.lower()) if invoice_id else None
    if invoice_id and invoice is None:
        c.fail("transactionId", f"The invoice '{invoice_id}' could not be found.")
    if amount is not None and amount <= 0:
        c.fail("transactionAmount", "The amount must be greater than zero.")
    if invoice is None or amount is None:
        return None
    if invoice["status"] == "Draft":
        c.fail("transactionId", f"The invoice {invoice['invoiceNumber']} has not been approved.")
    if customer and invoice["customer"]["id"] != customer["id"]:
        c.fail("transactionId", f"The invoice {invoice['invoiceNumber']} is for another customer.")
    return invoice, amount


def _links(book: Book, c: Checker, customer: Record | None, old: Record | None) -> list[Record]:
    """Allocations, none beyond an invoice's balance (plus what this receipt already held)."""
    raw = c.body.get("transactionLinks") or []
    if not isinstance(raw, list):
        c.fail("transactionLinks", "The transactionLinks field must be a list.")
        return []
    held = _own_allocations(old)
    wanted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    links = []
    for index, item in enumerate(raw):
        sub = c.child(f"transactionLinks[{index}]", item)
        checked = _link(book, sub, customer)
        if checked is None:
            continue
        invoice, amount = checked
        wanted[invoice["id"]] += amount
        if wanted[invoice["id"]] > invoice["balance"] + held[invoice["id"]]:
            sub.fail(
                "transactionAmount",
                f"The amount exceeds the balance of {invoice['invoiceNumber']}.",
            )
        links.append(_link_view(book, invoice, amount))
    return links


def _link_view(book: Book, invoice: Record, amount: Decimal) -> Record:
    """The TransactionLink output shape [SPEC]."""
    return {
        "linkId": book.new_id(),
        "transactionType": "Invoice",
        "transactionId": invoice["id"],
        "transactionNumber": invoice["invoiceNumber"],
        "transactionDate": invoice["invoiceDate"],
        "transactionReference": invoice["reference"],
        "transactionAmount": amount,
    }


def _bank_account(book: Book, c: Checker) -> Record | None:
    """The account the money went to: as sent, else the first bank account [SPEC default]."""
    account = c.reference("ledgerAccount", book.ledgeraccounts, what="ledger account")
    if account is None and not c.body.get("ledgerAccount"):
        account = next(
            a for a in book.ledgeraccounts.values() if a["accountType"] == "CurrentAsset_Bank"
        )
    if account and account["accountType"] not in A.RECEIPT_ACCOUNT_TYPES:
        c.fail("ledgerAccount", f"'{account['name']}' is not a bank or credit card account.")
    return account


def _coded_lines(book: Book, c: Checker) -> list[tuple[Record, Decimal, Decimal]]:
    """Money coded straight to accounts (invoice-line shape, tax-inclusive) [INF]."""
    raw = c.body.get("lineItems") or []
    if not isinstance(raw, list):
        c.fail("lineItems", "The lineItems field must be a list.")
        return []
    return [
        _line(book, c.child(f"lineItems[{i}]", item), "Inclusive") for i, item in enumerate(raw)
    ]


def build_receipt(book: Book, body: dict[str, Any], old: Record | None) -> Record:
    """ReceiptInput -> Receipt."""
    c = Checker(body)
    customer = c.reference("customer", book.customers, required=True)
    total = c.decimal("totalAmount", required=True) or ZERO
    if total <= 0:
        c.fail("totalAmount", "The total amount must be greater than zero.")
    links = _links(book, c, customer, old)
    allocated = sum((link["transactionAmount"] for link in links), ZERO)
    coded = _coded_lines(book, c)
    coded_total = sum((amount for _, amount, _ in coded), ZERO)
    if allocated + coded_total > total:
        c.fail("transactionLinks", "The allocated amounts exceed the receipt's total amount.")
    account = _bank_account(book, c)
    method = c.reference("paymentMethod", book.paymentmethods, what="payment method")
    status_default = old["reconciliationStatus"] if old else "Uncleared"
    stamp = iso(reckon().clock.now())
    receivable = book.ledgeraccounts.resolve("Accounts Receivable")
    record: Record = {
        "id": old["id"] if old else book.new_id(),
        "receiptNumber": old["receiptNumber"] if old else None,
        "customer": ref(customer) if customer else None,
        "receiptDate": c.when("receiptDate", required=True),
        "ledgerAccount": ref(account, "fullName") if account else None,
        "allocateFullAmount": allocated + coded_total == total,
        "paymentMethod": ref(method) if method else None,
        "reference": c.text("reference", max_len=200),
        "notes": c.text("notes", max_len=255),
        "totalAmount": total,
        "reconciliationStatus": c.choice(
            "reconciliationStatus", ("Uncleared", "Cleared"), default=status_default
        ),
        "internalNotes": c.text("internalNotes", max_len=400),
        "recurring": None,
        "accountsReceivableLedgerAccount": ref(receivable) if receivable else None,
        "classification": None,
        "transactionLinks": links,
        "lineItems": [line for line, _, _ in coded],
        "amountTaxStatus": "Inclusive",
        "createdDateTime": old["createdDateTime"] if old else stamp,
        "lastModifiedDateTime": stamp,
        "_input": body,
    }
    c.done()
    if old is None:
        record["receiptNumber"] = A.RECEIPT_NUMBER.format(book.next_number("receipt"))
    return record


def receipt_saved(book: Book, old: Record | None, new: Record | None) -> None:
    """Move allocations: release the old receipt's, apply the new one's, re-settle invoices."""
    touched: set[str] = set()
    for receipt, sign in ((old, -1), (new, 1)):
        if receipt is None:
            continue
        for link in receipt["transactionLinks"]:
            invoice = book.invoices.get(link["transactionId"])
            if invoice is None:
                continue
            invoice["_allocated"] += sign * link["transactionAmount"]
            if sign < 0:  # the old pass runs first, so the new pass only appends
                invoice["transactionLinks"] = [
                    x for x in invoice["transactionLinks"] if x["transactionId"] != receipt["id"]
                ]
            else:
                invoice["transactionLinks"].append(_receipt_link(receipt, link))
            settle(invoice)
            touched.add(invoice["customer"]["id"])
    for customer_id in touched:
        refresh_customer(book, customer_id)


def _receipt_link(receipt: Record, link: Record) -> Record:
    """The invoice's view of an allocation: a link back to the receipt."""
    return {
        "linkId": link["linkId"],
        "transactionType": "Receipt",
        "transactionId": receipt["id"],
        "transactionNumber": receipt["receiptNumber"],
        "transactionDate": receipt["receiptDate"],
        "transactionReference": receipt["reference"],
        "transactionAmount": link["transactionAmount"],
    }


register(bp, Resource("receipts", build_receipt, after=receipt_saved))
