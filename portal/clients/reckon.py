"""Reckon One API v2 client: books, tax, customers, items, invoices and receipts.

Reference: /work/shared/upstreams/reckon.md. Tokens refresh transparently; every rotated refresh
token goes to the `on_tokens` callback, which must store it (the old one stops working).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from .reckon_identity import Tokens
from .reckon_models import (
    Allocation,
    Book,
    CreditNote,
    Customer,
    InvoiceLine,
    Item,
    LedgerAccount,
    PaymentMethod,
    PaymentTerm,
    Receipt,
    ReckonInvoice,
    TaxRate,
    quote_filter,
)
from .reckon_transport import DEFAULT_BASE_URL, SERVICE, ReckonTransport, seg

# Callers import the client, its tokens and its constants from here.
__all__ = ["DEFAULT_BASE_URL", "SERVICE", "ReckonClient", "Tokens"]


class ReckonClient(ReckonTransport):
    """One connected Reckon user's API access, for any of the books they can reach."""

    # ---- reference data --------------------------------------------------------------------
    def list_books(self) -> list[Book]:
        """Books this user can reach."""
        return [Book.from_json(r) for r in self._iter("books")]

    def get_tax_rates(self, book_id: str, on_date: date) -> list[TaxRate]:
        """Tax codes in force on a date."""
        return [TaxRate.from_json(r) for r in self._iter(f"{seg(book_id)}/taxrates/{on_date}")]

    def list_ledger_accounts(self, book_id: str) -> list[LedgerAccount]:
        """The chart of accounts."""
        return [LedgerAccount.from_json(r) for r in self._iter(f"{seg(book_id)}/ledgeraccounts")]

    def list_payment_methods(self, book_id: str) -> list[PaymentMethod]:
        """Payment methods (EFTPOS, Cash, ...)."""
        return [PaymentMethod.from_json(r) for r in self._iter(f"{seg(book_id)}/paymentMethods")]

    def list_terms(self, book_id: str) -> list[PaymentTerm]:
        """Payment terms (the book's default is marked)."""
        return [PaymentTerm.from_json(r) for r in self._iter(f"{seg(book_id)}/terms")]

    def invoices_need_approval(self, book_id: str) -> bool:
        """Whether the book's "Approval process" is on: then an invoice the API creates is a
        Draft until approved (`approvalEnabled` of the book's invoice settings)."""
        row = self._get(f"{seg(book_id)}/settings/invoice", {"select": "approvalEnabled"})
        return (row or {}).get("approvalEnabled") is not False  # unknown: assume it is on

    # ---- customers -------------------------------------------------------------------------
    def iter_customers(self, book_id: str) -> Iterator[Customer]:
        """Every customer in the book (one paged read, for matching many patients at once)."""
        for row in self._iter(f"{seg(book_id)}/customers"):
            yield Customer.from_json(row)

    def find_customers_by_email(self, book_id: str, email: str) -> list[Customer]:
        """Customers with this email among their electronic addresses (case ignored)."""
        flt = f"tolower(electronicAddresses.address) eq {quote_filter(email.strip().lower())}"
        return [Customer.from_json(r) for r in self._iter(f"{seg(book_id)}/customers", flt)]

    def find_customer_by_name(self, book_id: str, name: str) -> Customer | None:
        """The customer with exactly this name (names are the reference key)."""
        rows = self._iter(f"{seg(book_id)}/customers", f"name eq {quote_filter(name)}")
        return next((Customer.from_json(r) for r in rows), None)

    def create_customer(self, book_id: str, name: str, **fields: Any) -> str:
        """Create a customer; extra Reckon fields (notes, electronicAddresses...) pass through."""
        body = {"name": name, "status": "Active", "entityTypes": {"isCustomer": True}, **fields}
        return self._create(f"{seg(book_id)}/customers", body)

    def update_customer(self, book_id: str, customer_id: str, **fields: Any) -> None:
        """Merge-patch some of a customer's fields."""
        self._patch(f"{seg(book_id)}/customers/{seg(customer_id)}", fields)

    # ---- items -----------------------------------------------------------------------------
    def find_item_by_code(self, book_id: str, code: str) -> Item | None:
        """The item with exactly this item code."""
        rows = self._iter(f"{seg(book_id)}/items", f"itemCode eq {quote_filter(code)}")
        return next((Item.from_json(r) for r in rows), None)

    def create_item(
        self,
        book_id: str,
        name: str,
        *,
        item_code: str,
        price: Decimal,
        tax_rate: str,
        ledger_account: str,
        item_type: str = "Service",
        amount_tax_status: str = "Inclusive",
        description: str | None = None,
    ) -> str:
        """Create a sale item; price is gross when Inclusive, net when Exclusive."""
        sale = {
            "price": price,
            "priceAccuracy": 2,
            "ledgerAccount": ledger_account,
            "taxRate": tax_rate,
            "description": description or name,
        }
        body = {
            "name": name,
            "itemCode": item_code,
            "itemType": item_type,
            "status": "Active",
            "amountTaxStatus": amount_tax_status,
            "sale": sale,
        }
        return self._create(f"{seg(book_id)}/items", body)

    def update_item(self, book_id: str, item_id: str, **fields: Any) -> None:
        """Merge-patch some of an item's fields."""
        self._patch(f"{seg(book_id)}/items/{seg(item_id)}", fields)

    # ---- invoices --------------------------------------------------------------------------
    def find_invoice_by_reference(self, book_id: str, reference: str) -> ReckonInvoice | None:
        """The invoice we created with this reference (how re-runs avoid duplicates)."""
        return next(
            self.iter_invoices(book_id, filter=f"reference eq {quote_filter(reference)}"), None
        )

    def create_invoice(
        self,
        book_id: str,
        customer: str,
        invoice_date: date,
        lines: Sequence[InvoiceLine],
        *,
        reference: str,
        amount_tax_status: str = "Inclusive",
        due_date: date | None = None,
        notes: str | None = None,
        payment_terms: str | None = None,
        raw_lines: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        """Create an invoice (Reckon computes tax and totals from each line's tax rate);
        `raw_lines` are sent as given (e.g. account-coded lines) instead of `lines`."""
        body: dict[str, Any] = {
            "customer": customer,
            "invoiceDate": invoice_date,
            "amountTaxStatus": amount_tax_status,
            "reference": reference,
            "lineItems": list(raw_lines) or [ln.to_json(i) for i, ln in enumerate(lines, 1)],
        }
        optional = {"dueDate": due_date, "notes": notes, "paymentTerms": payment_terms}
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._create(f"{seg(book_id)}/invoices", body)

    def get_invoice(self, book_id: str, invoice_id: str) -> ReckonInvoice:
        """One invoice by id."""
        return ReckonInvoice.from_json(self._get(f"{seg(book_id)}/invoices/{seg(invoice_id)}"))

    def get_invoice_record(self, book_id: str, invoice_id: str) -> dict[str, Any]:
        """One invoice as Reckon sends it, lines and tax codes included."""
        return dict(self._get(f"{seg(book_id)}/invoices/{seg(invoice_id)}"))

    def update_invoice(self, book_id: str, invoice_id: str, **fields: Any) -> None:
        """Merge-patch an invoice, e.g. status="Approved"."""
        self._patch(f"{seg(book_id)}/invoices/{seg(invoice_id)}", fields)

    def iter_invoices(self, book_id: str, filter: str | None = None) -> Iterator[ReckonInvoice]:
        """Invoices matching a Reckon `filter` expression (all when None)."""
        for row in self._iter(f"{seg(book_id)}/invoices", filter):
            yield ReckonInvoice.from_json(row)

    # ---- receipts --------------------------------------------------------------------------
    def find_receipt_by_reference(self, book_id: str, reference: str) -> Receipt | None:
        """The receipt we created with this reference."""
        rows = self._iter(f"{seg(book_id)}/receipts", f"reference eq {quote_filter(reference)}")
        return next((Receipt.from_json(r) for r in rows), None)

    def create_receipt(
        self,
        book_id: str,
        customer: str,
        receipt_date: date,
        total_amount: Decimal,
        *,
        reference: str,
        allocations: Sequence[Allocation] = (),
        ledger_account: str | None = None,
        payment_method: str | None = None,
        notes: str | None = None,
        lines: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        """Record money received, allocated to invoices and/or coded to accounts (`lines`)."""
        body: dict[str, Any] = {
            "customer": customer,
            "receiptDate": receipt_date,
            "totalAmount": total_amount,
            "reference": reference,
            "reconciliationStatus": "Uncleared",
            "transactionLinks": [a.to_json() for a in allocations],
        }
        if lines:
            body["lineItems"] = [{"lineNumber": n, **ln} for n, ln in enumerate(lines, 1)]
        optional = {
            "ledgerAccount": ledger_account,
            "paymentMethod": payment_method,
            "notes": notes,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._create(f"{seg(book_id)}/receipts", body)

    def iter_receipt_records(
        self, book_id: str, filter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Receipts as Reckon sends them."""
        return self._iter(f"{seg(book_id)}/receipts", filter)

    # ---- credit notes ----------------------------------------------------------------------
    def find_credit_note_by_reference(self, book_id: str, reference: str) -> CreditNote | None:
        """The credit note we created with this reference."""
        flt = f"reference eq {quote_filter(reference)}"
        rows = self._iter(f"{seg(book_id)}/creditnotes", flt)
        return next((CreditNote.from_json(r) for r in rows), None)

    def get_credit_note(self, book_id: str, note_id: str) -> CreditNote:
        """One credit note by id."""
        return CreditNote.from_json(self._get(f"{seg(book_id)}/creditnotes/{seg(note_id)}"))

    def create_credit_note(
        self,
        book_id: str,
        customer: str,
        note_date: date,
        lines: Sequence[Mapping[str, Any]],
        *,
        reference: str,
        notes: str | None = None,
    ) -> str:
        """Create a credit note (Draft); `lines` take the invoice-line shape, tax-inclusive."""
        body: dict[str, Any] = {
            "customer": customer,
            "creditNoteDate": note_date,
            "amountTaxStatus": "Inclusive",
            "reference": reference,
            "lineItems": [{"lineNumber": n, **ln} for n, ln in enumerate(lines, 1)],
        }
        if notes:
            body["notes"] = notes
        return self._create(f"{seg(book_id)}/creditNotes", body)

    def update_credit_note(self, book_id: str, note_id: str, **fields: Any) -> None:
        """Merge-patch a credit note, e.g. status="Approved" (only PATCH may set it)."""
        self._patch(f"{seg(book_id)}/creditNotes/{seg(note_id)}", fields)

    def link_credit_note(self, book_id: str, note_id: str, invoice_id: str, amount: Decimal) -> str:
        """Apply part of a credit note to an invoice; returns the link's id."""
        body = {
            "transactionId": invoice_id,
            "transactionAmount": amount,
            "transactionType": "Invoice",
        }
        return self._create(f"{seg(book_id)}/creditNotes/{seg(note_id)}/transactionLinks", body)

    def iter_credit_note_records(
        self, book_id: str, filter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Credit notes as Reckon sends them."""
        return self._iter(f"{seg(book_id)}/creditnotes", filter)

    def iter_invoice_records(
        self, book_id: str, filter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Invoices as Reckon sends them, lines and tax codes included."""
        return self._iter(f"{seg(book_id)}/invoices", filter)
