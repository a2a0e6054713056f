"""Credit notes and their transaction links to invoices [SPEC; rules in assumptions]."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import Response

from . import assumptions as A
from .http import (
    api_blueprint,
    invalid,
    json_response,
    load,
    load_book,
    locked,
    no_content,
    read_json,
    reckon,
    require_merge_patch,
)
from .invoices import approval_status, read_document
from .money import ZERO, refresh_customer, settle, settle_credit
from .resources import Resource, register
from .seed import iso
from .store import Book, Record, ref
from .validate import Checker

bp = api_blueprint("reckon_creditnotes")


def build_credit_note(book: Book, body: dict[str, Any], old: Record | None) -> Record:
    """CreditNoteInput (+ status on PATCH [SPEC]; Closed follows from the balance [INF])."""
    doc = read_document(book, body)
    c, customer, tax_status, lines = doc.c, doc.customer, doc.tax_status, doc.lines
    total, tax_total = doc.total, doc.tax_total
    applied = old["_applied"] if old else ZERO
    if total <= 0:
        c.fail("lineItems", "The credit note total must be greater than zero.")
    if total < applied:
        c.fail("lineItems", "The total cannot be less than the amount already applied.")
    stamp = iso(reckon().clock.now())
    receivable = book.ledgeraccounts.resolve(A.RECEIVABLE_ACCOUNT)
    template_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"reckon-cn-template:{book.id}"))
    record: Record = {
        "id": old["id"] if old else book.new_id(),
        "creditNoteNumber": old["creditNoteNumber"] if old else None,
        "customer": ref(customer) if customer else None,
        "billingAddress": None,
        "shippingAddress": None,
        "creditNoteDate": c.when("creditNoteDate", required=True),
        "totalAmount": total,
        "balance": total - applied,
        "amountTaxStatus": tax_status,
        "totalTaxAmount": tax_total,
        "status": approval_status(
            c,
            doc.requested,
            old,
            A.CREDIT_NOTE_INITIAL_STATUS,
            "_applied",
            "A credit note applied to invoices cannot return to Draft.",
        ),
        "reference": c.text("reference", max_len=255),
        "accountsReceivableLedgerAccount": ref(receivable) if receivable else None,
        "classification": None,
        "template": {"id": template_id, "name": c.text("template") or "Professional Credit Note"},
        "transactionLinks": old["transactionLinks"] if old else [],
        "lineItems": [line for line, _, _ in lines],
        "notes": c.text("notes"),
        "emailStatus": old["emailStatus"] if old else "Unsent",
        "createdDateTime": old["createdDateTime"] if old else stamp,
        "lastModifiedDateTime": stamp,
        "_applied": applied,
        "_input": doc.body,
    }
    c.done()
    if old is None:
        record["creditNoteNumber"] = A.CREDIT_NOTE_NUMBER.format(book.next_number("creditnote"))
    settle_credit(record)
    return record


def credit_note_saved(book: Book, old: Record | None, new: Record | None) -> None:
    for record in (old, new):
        if record and record.get("customer"):
            refresh_customer(book, record["customer"]["id"])


def check_credit_note_delete(book: Book, record: Record) -> None:
    if record["_applied"] > 0:
        raise invalid("id", "The credit note is applied to invoices and cannot be deleted.")


register(
    bp,
    Resource(
        "creditnotes",
        build_credit_note,
        after=credit_note_saved,
        check_delete=check_credit_note_delete,
        aliases=("creditNotes",),
    ),
)


def _checked_link(book: Book, note: Record, body: dict[str, Any]) -> tuple[Record, Decimal]:
    c = Checker(body)
    c.choice("transactionType", ("Invoice",))
    amount = c.decimal("transactionAmount", required=True) or ZERO
    invoice_id = c.text("transactionId", required=True) or ""
    invoice = book.invoices.get(invoice_id.lower())
    if invoice is None:
        c.fail("transactionId", f"The invoice '{invoice_id}' could not be found.")
    elif invoice["status"] == "Draft":
        c.fail("transactionId", f"The invoice {invoice['invoiceNumber']} has not been approved.")
    elif invoice["customer"]["id"] != note["customer"]["id"]:
        c.fail("transactionId", f"The invoice {invoice['invoiceNumber']} is for another customer.")
    elif amount > invoice["balance"]:
        c.fail(
            "transactionAmount", f"The amount exceeds the balance of {invoice['invoiceNumber']}."
        )
    if note["status"] == "Draft":
        c.fail("creditNoteId", "The credit note has not been approved.")
    if amount <= 0:
        c.fail("transactionAmount", "The amount must be greater than zero.")
    elif amount > note["balance"]:
        c.fail("transactionAmount", "The amount exceeds the credit note's balance.")
    c.done()
    assert invoice is not None
    return invoice, amount


def _apply(book: Book, note: Record, invoice: Record, amount: Decimal, link_id: str) -> None:
    note["_applied"] += amount
    invoice["_allocated"] += amount
    note["transactionLinks"].append(
        {
            "linkId": link_id,
            "transactionType": "Invoice",
            "transactionId": invoice["id"],
            "transactionNumber": invoice["invoiceNumber"],
            "transactionDate": invoice["invoiceDate"],
            "transactionReference": invoice["reference"],
            "transactionAmount": amount,
        }
    )
    invoice["transactionLinks"].append(
        {
            "linkId": link_id,
            "transactionType": "CreditNote",
            "transactionId": note["id"],
            "transactionNumber": note["creditNoteNumber"],
            "transactionDate": note["creditNoteDate"],
            "transactionReference": note["reference"],
            "transactionAmount": amount,
        }
    )
    settle(invoice)
    settle_credit(note)
    refresh_customer(book, note["customer"]["id"])


@locked
def create_link(book_id: str, note_id: str) -> Response:
    """Apply part of a credit note to an invoice [SPEC CreateCreditNoteTransactionLink]."""
    book = load_book(book_id)
    note = load(book.creditnotes, note_id)
    invoice, amount = _checked_link(book, note, read_json())
    link_id = f"INV-{book.new_id()}"
    _apply(book, note, invoice, amount, link_id)
    return json_response({"id": link_id}, 201)


def _unlink(book: Book, note: Record, link_id: str) -> None:
    link = next((x for x in note["transactionLinks"] if x["linkId"] == link_id), None)
    if link is None:
        raise invalid("linkId", "The transaction link could not be found.")
    invoice = book.invoices.get(link["transactionId"])
    note["transactionLinks"].remove(link)
    note["_applied"] -= link["transactionAmount"]
    if invoice is not None:
        invoice["_allocated"] -= link["transactionAmount"]
        invoice["transactionLinks"] = [
            x for x in invoice["transactionLinks"] if x["linkId"] != link_id
        ]
        settle(invoice)
    settle_credit(note)
    refresh_customer(book, note["customer"]["id"])


@locked
def delete_link(book_id: str, note_id: str, link_id: str) -> Response:
    """Unlink an invoice from a credit note [SPEC UnlinkTransaction]."""
    book = load_book(book_id)
    _unlink(book, load(book.creditnotes, note_id), link_id)
    return no_content()


@locked
def patch_link(book_id: str, note_id: str, link_id: str) -> Response:
    """Change a link's amount [SPEC PatchCreditNoteTransactionLink]."""
    book = load_book(book_id)
    note = load(book.creditnotes, note_id)
    require_merge_patch()
    link = next((x for x in note["transactionLinks"] if x["linkId"] == link_id), None)
    if link is None:
        raise invalid("linkId", "The transaction link could not be found.")
    invoice_id = link["transactionId"]
    _unlink(book, note, link_id)
    body = {**read_json(), "transactionId": invoice_id, "transactionType": "Invoice"}
    invoice, amount = _checked_link(book, note, body)
    _apply(book, note, invoice, amount, link_id)
    return no_content()


for _segment in ("creditNotes", "creditnotes"):
    for _links in ("transactionLinks", "transactionlinks"):
        _base = f"/<book_id>/{_segment}/<note_id>/{_links}"
        bp.add_url_rule(_base, f"link_{_segment}_{_links}", create_link, methods=["POST"])
        bp.add_url_rule(
            f"{_base}/<link_id>", f"unlink_{_segment}_{_links}", delete_link, methods=["DELETE"]
        )
        bp.add_url_rule(
            f"{_base}/<link_id>", f"plink_{_segment}_{_links}", patch_link, methods=["PATCH"]
        )
