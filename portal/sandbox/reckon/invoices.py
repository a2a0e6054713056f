"""Invoices: server-computed tax and totals, INV numbering, Draft/Approved/Paid [SPEC §8]."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from . import assumptions as A
from .http import api_blueprint, invalid, reckon
from .money import ZERO, invoice_totals, line_amount, line_tax, refresh_customer, settle
from .resources import Resource, register
from .seed import iso
from .store import Book, Record, ref
from .terms import default_term, due_date
from .validate import Checker

bp = api_blueprint("reckon_invoices")

TAX_STATUSES = ("NonTaxed", "Inclusive", "Exclusive")


def _item_price(book: Book, item: Record, tax_status: str) -> Decimal:
    """An item's sale price restated in the invoice's tax status [INF]."""
    sale = item.get("sale") or {}
    price: Decimal = sale.get("price") or ZERO
    rate_ref = sale.get("taxRate")
    rate_record = book.taxrates.get(rate_ref["id"]) if rate_ref else None
    rate = rate_record["rate"] if rate_record else ZERO
    if item["amountTaxStatus"] == "Inclusive" and tax_status == "Exclusive":
        return price - line_tax(price, rate, "Inclusive")
    if item["amountTaxStatus"] == "Exclusive" and tax_status == "Inclusive":
        return price + line_tax(price, rate, "Exclusive")
    return price


def _item_details(book: Book, c: Checker, tax_status: str) -> tuple[Record, Decimal, Record | None]:
    """itemDetails -> (output, amount, item)."""
    item = c.reference("item", book.items, required=True)
    price = c.decimal("price")
    if price is None:
        price = _item_price(book, item, tax_status) if item else ZERO
    quantity = c.decimal("quantity")
    quantity = Decimal(1) if quantity is None else quantity
    discount_amount, discount_percent = c.decimal("discountAmount"), c.decimal("discountPercent")
    if discount_amount is not None and discount_percent is not None:
        c.fail("discountPercent", "Provide either discountAmount or discountPercent, not both.")
    amount, discount = line_amount(price, quantity, discount_amount, discount_percent)
    details = {
        "item": ref(item, "fullName") if item else None,
        "price": price,
        "quantity": quantity,
        "discountAmount": discount,
        "discountPercent": discount_percent,
    }
    return details, amount, item


def _account_details(book: Book, c: Checker) -> tuple[Record, Decimal, Record | None]:
    """accountDetails -> (output, amount, account); `amount` is the line total [INF]."""
    account = c.reference("ledgerAccount", book.ledgeraccounts, required=True)
    amount = c.decimal("amount", required=True) or ZERO
    quantity = c.decimal("quantity")
    details = {
        "ledgerAccount": ref(account, "fullName") if account else None,
        "quantity": quantity,
        "amount": amount,
    }
    return details, amount, account


def _line_tax_rate(book: Book, c: Checker, source: Record | None) -> Record | None:
    """The line's tax rate: as sent, else the item's or account's default, else N-T [INF]."""
    if c.body.get("taxRate"):
        rate = c.reference("taxRate", book.taxrates, what="tax rate")
    else:
        default = (source or {}).get("defaultTaxRate") or ((source or {}).get("sale") or {}).get(
            "taxRate"
        )
        rate = (
            book.taxrates.get(default["id"])
            if default
            else book.taxrates.resolve(A.DEFAULT_LINE_TAX)
        )
    if rate and not rate["useOnSales"]:
        c.fail("taxRate", f"The tax rate '{rate['name']}' cannot be used on sales.")
    return rate


def _line(book: Book, c: Checker, tax_status: str) -> tuple[Record, Decimal, Decimal]:
    """One InvoiceLineItemInput -> (output line, amount, tax)."""
    number = c.decimal("lineNumber", required=True)
    has_item, has_account = bool(c.body.get("itemDetails")), bool(c.body.get("accountDetails"))
    if has_item == has_account:
        c.fail("itemDetails", "Exactly one of itemDetails or accountDetails must be provided.")
        return {}, ZERO, ZERO
    if has_item:
        details, amount, source = _item_details(
            book, c.child("itemDetails", c.body["itemDetails"]), tax_status
        )
    else:
        details, amount, source = _account_details(
            book, c.child("accountDetails", c.body["accountDetails"])
        )
    rate = _line_tax_rate(book, c, source)
    tax = line_tax(amount, rate["rate"] if rate else ZERO, tax_status)
    modified = c.boolean("taxIsModified")
    sent_tax = c.decimal("taxAmount")
    if modified and sent_tax is not None:
        tax = sent_tax
    elif sent_tax is not None and sent_tax != tax:
        c.fail("taxAmount", f"Tax for line {number} is incorrect.")  # [INF from v1]
    line = {
        "lineNumber": int(number or 0),
        "lineId": book.new_id(),
        "parentLineId": None,
        "serviceDate": c.when("serviceDate"),
        "project": None,
        "itemDetails": details if has_item else None,
        "accountDetails": None if has_item else details,
        "description": c.text("description"),
        "taxRate": ref(rate) if rate else None,
        "taxAmount": tax,
        "taxIsModified": modified,
        "transactionLinks": [],
    }
    return line, amount, tax


def _lines(book: Book, c: Checker, tax_status: str) -> list[tuple[Record, Decimal, Decimal]]:
    raw = c.body.get("lineItems")
    if not isinstance(raw, list) or not raw:
        c.fail("lineItems", "At least one line item is required.")  # [INF: PORTAL requires them]
        return []
    return [_line(book, c.child(f"lineItems[{i}]", item), tax_status) for i, item in enumerate(raw)]


def approval_status(
    c: Checker, requested: Any, old: Record | None, initial: str, used: str, why_not: str
) -> str:
    """An invoice's or a credit note's status after a PUT/PATCH: only Draft or Approved may be
    asked for (Paid and Closed follow from the money [INF]); one already used (`old[used]` > 0)
    cannot return to Draft. The body of a create has no status: it starts as `initial`."""
    current = old["status"] if old else initial
    if requested is None or old is None:
        return current
    if requested not in ("Draft", "Approved"):
        c.fail("status", "The status can only be set to Draft or Approved.")
    elif requested == "Draft" and old[used] > 0:
        c.fail("status", why_not)
    else:
        return str(requested)
    return current


@dataclass
class Document:
    """What an invoice's and a credit note's bodies share, read and checked."""

    body: dict[str, Any]  # without the status
    requested: Any  # the status asked for, if any
    c: Checker
    customer: Record | None
    tax_status: str
    lines: list[tuple[Record, Decimal, Decimal]]  # (line, amount, tax)
    total: Decimal
    tax_total: Decimal


def read_document(book: Book, body: dict[str, Any]) -> Document:
    body = dict(body)
    requested = body.pop("status", None)
    c = Checker(body)
    customer = c.reference("customer", book.customers, required=True)
    tax_status = c.choice("amountTaxStatus", TAX_STATUSES) or "Inclusive"
    lines = _lines(book, c, tax_status)
    total, tax_total = invoice_totals([(a, t) for _, a, t in lines], tax_status)
    return Document(body, requested, c, customer, tax_status, lines, total, tax_total)


def initial_invoice_status(book: Book) -> str:
    """What an invoice created through the API starts as: Draft only under the book's approval
    process [INF, assumptions]."""
    drafts = book.invoice_approval or not A.APPROVAL_SETTING_HONOURED
    return "Draft" if drafts else "Approved"


def build_invoice(book: Book, body: dict[str, Any], old: Record | None) -> Record:
    """InvoiceInput (+ status on update) -> Invoice."""
    doc = read_document(book, body)
    c, customer, tax_status, lines = doc.c, doc.customer, doc.tax_status, doc.lines
    total, tax_total = doc.total, doc.tax_total
    allocated = old["_allocated"] if old else ZERO
    if total < 0:
        c.fail("lineItems", A.NEGATIVE_INVOICE)
    if total < allocated:
        c.fail("lineItems", "The invoice total cannot be less than the amount already received.")
    record = _header(book, c, old, customer)
    record |= {
        "customer": ref(customer) if customer else None,
        "amountTaxStatus": tax_status,
        "lineItems": [line for line, _, _ in lines],
        "totalAmount": total,
        "totalTaxAmount": tax_total,
        "status": approval_status(
            c,
            doc.requested,
            old,
            initial_invoice_status(book),
            "_allocated",
            "An invoice with receipts allocated cannot return to Draft.",
        ),
        "_allocated": allocated,
        "_input": doc.body,
    }
    c.done()
    if old is None:
        record["invoiceNumber"] = A.INVOICE_NUMBER.format(book.next_number("invoice"))
    settle(record)
    return record


def _terms(book: Book, c: Checker, customer: Record | None) -> Record | None:
    """The invoice's payment term: as sent, else the customer's, else the book's default [INF]."""
    term = c.reference("paymentTerms", book.terms, what="payment term")
    if term is None and not c.body.get("paymentTerms"):
        own = (customer or {}).get("paymentTerms")
        term = book.terms.get(own["id"]) if own else default_term(book)
    return term


def _due(c: Checker, invoice_date: str | None, term: Record | None) -> str | None:
    sent = c.when("dueDate")
    if sent or not invoice_date or term is None:
        return sent or invoice_date
    return f"{due_date(term, date.fromisoformat(invoice_date[:10]))}T00:00:00Z"


def _header(book: Book, c: Checker, old: Record | None, customer: Record | None) -> Record:
    """The invoice's dates, texts and fixed references."""
    invoice_date = c.when("invoiceDate", required=True)
    term = _terms(book, c, customer)
    stamp = iso(reckon().clock.now())
    receivable = book.ledgeraccounts.resolve("Accounts Receivable")
    template_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"reckon-template:{book.id}"))
    if c.body.get("classification"):  # the seeded books have no classifications
        c.fail(
            "classification", f"The classification '{c.body['classification']}' could not be found."
        )
    return {
        "id": old["id"] if old else book.new_id(),
        "invoiceNumber": old["invoiceNumber"] if old else None,
        "billingAddress": None,
        "shippingAddress": None,
        "invoiceDate": invoice_date,
        "dueDate": _due(c, invoice_date, term),
        "invoiceDiscountAmount": c.decimal("invoiceDiscountAmount"),
        "invoiceDiscountPercent": c.decimal("invoiceDiscountPercent"),
        "paymentTerms": ref(term) if term else None,
        "reference": c.text("reference", max_len=255),
        "accountsReceivableLedgerAccount": ref(receivable) if receivable else None,
        "classification": None,
        "template": {"id": template_id, "name": c.text("template") or "Professional Invoice"},
        "recurringTemplate": None,
        "transactionLinks": old["transactionLinks"] if old else [],
        "notes": c.text("notes"),
        "paymentDetails": c.text("paymentDetails"),
        "emailStatus": old["emailStatus"] if old else "Unsent",
        "createdDateTime": old["createdDateTime"] if old else stamp,
        "lastModifiedDateTime": stamp,
    }


def invoice_saved(book: Book, old: Record | None, new: Record | None) -> None:
    """Customer balances follow their invoices."""
    for record in (old, new):
        if record and record.get("customer"):
            refresh_customer(book, record["customer"]["id"])


def check_invoice_delete(book: Book, record: Record) -> None:
    """[INF] receipts must be removed before their invoice."""
    if record["_allocated"] > 0:
        raise invalid("id", "The invoice has receipts allocated and cannot be deleted.")


register(
    bp,
    Resource("invoices", build_invoice, after=invoice_saved, check_delete=check_invoice_delete),
)
