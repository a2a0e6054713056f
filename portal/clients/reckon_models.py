"""What the portal reads from and sends to Reckon One, as frozen dataclasses (money as Decimal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .parsing import opt_str, ref_id, ref_name, to_date, to_datetime, to_decimal, to_id

ZERO = Decimal(0)


@dataclass(frozen=True)
class Book:
    """A Reckon One book (one organisation's accounts)."""

    id: str
    name: str
    status: str | None
    country: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Book:
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("status")),
            opt_str(d.get("country")),
        )


@dataclass(frozen=True)
class TaxRate:
    """A tax code such as GST (10%) or FRE (GST-free), as of a date."""

    id: str
    name: str
    description: str | None
    rate: Decimal
    use_on_sales: bool
    use_on_purchases: bool
    status: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TaxRate:
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("description")),
            to_decimal(d.get("rate")) or ZERO,
            bool(d.get("useOnSales")),
            bool(d.get("useOnPurchases")),
            opt_str(d.get("status")),
        )


@dataclass(frozen=True)
class LedgerAccount:
    """A chart-of-accounts entry (income, bank, clearing...)."""

    id: str
    name: str
    full_name: str | None
    account_type: str | None
    status: str | None
    balance: Decimal | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LedgerAccount:
        kind = d.get("accountType")
        kind_name = kind.get("name") if isinstance(kind, dict) else kind
        status = d.get("status")
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("fullName")),
            opt_str(kind_name),
            opt_str(ref_name(status) if isinstance(status, dict) else status),
            to_decimal(d.get("balance")),
        )


@dataclass(frozen=True)
class PaymentTerm:
    """Payment terms (e.g. "Net 14 days"); the book's default has `is_default`."""

    id: str
    name: str
    is_default: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaymentTerm:
        return cls(to_id(d.get("id")), d.get("name") or "", bool(d.get("isDefault")))


@dataclass(frozen=True)
class PaymentMethod:
    """How a receipt was paid (EFTPOS, Cash, ...)."""

    id: str
    name: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaymentMethod:
        return cls(to_id(d.get("id")), d.get("name") or "")


@dataclass(frozen=True)
class Customer:
    """A customer organisation (a patient, in the portal's mapping)."""

    id: str
    name: str
    status: str | None
    notes: str | None
    balance: Decimal | None
    emails: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Customer:
        emails = tuple(
            str(e.get("address"))
            for e in d.get("electronicAddresses") or []
            if isinstance(e, dict) and e.get("address") and "@" in str(e.get("address"))
        )
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("status")),
            opt_str(d.get("notes")),
            to_decimal(d.get("balance")),
            emails,
        )


@dataclass(frozen=True)
class Item:
    """A sale item (service or product) with its sale price and tax code."""

    id: str
    name: str
    item_code: str | None
    item_type: str | None
    status: str | None
    amount_tax_status: str | None
    sale_price: Decimal | None
    sale_tax_rate: str | None
    sale_ledger_account: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Item:
        sale = d.get("sale") or {}
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("itemCode")),
            opt_str(d.get("itemType")),
            opt_str(d.get("status")),
            opt_str(d.get("amountTaxStatus")),
            to_decimal(sale.get("price")),
            ref_name(sale.get("taxRate")),
            ref_name(sale.get("ledgerAccount")),
        )


@dataclass(frozen=True)
class ReckonInvoice:
    """A sales invoice; status Draft|Approved|Paid, `balance` is what is still owed."""

    id: str
    invoice_number: str | None
    customer_id: str | None
    customer_name: str | None
    invoice_date: date | None
    due_date: date | None
    reference: str | None
    status: str | None
    amount_tax_status: str | None
    total_amount: Decimal
    total_tax_amount: Decimal | None
    balance: Decimal
    last_modified: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ReckonInvoice:
        return cls(
            to_id(d.get("id")),
            opt_str(d.get("invoiceNumber")),
            ref_id(d.get("customer")),
            ref_name(d.get("customer")),
            to_date(d.get("invoiceDate")),
            to_date(d.get("dueDate")),
            opt_str(d.get("reference")),
            opt_str(d.get("status")),
            opt_str(d.get("amountTaxStatus")),
            to_decimal(d.get("totalAmount")) or ZERO,
            to_decimal(d.get("totalTaxAmount")),
            to_decimal(d.get("balance")) or ZERO,
            to_datetime(d.get("lastModifiedDateTime")),
        )


@dataclass(frozen=True)
class Receipt:
    """Money received from a customer, possibly allocated to invoices."""

    id: str
    receipt_number: str | None
    customer_id: str | None
    receipt_date: date | None
    total_amount: Decimal
    reference: str | None
    allocated_invoice_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Receipt:
        links = [link for link in d.get("transactionLinks") or [] if isinstance(link, dict)]
        return cls(
            to_id(d.get("id")),
            opt_str(d.get("receiptNumber")),
            ref_id(d.get("customer")),
            to_date(d.get("receiptDate")),
            to_decimal(d.get("totalAmount")) or ZERO,
            opt_str(d.get("reference")),
            tuple(to_id(link.get("transactionId")) for link in links),
        )


@dataclass(frozen=True)
class CreditNote:
    """A customer credit; `balance` is what has not been applied to invoices yet."""

    id: str
    number: str | None
    customer_id: str | None
    reference: str | None
    status: str | None
    total_amount: Decimal
    balance: Decimal
    links: tuple[tuple[str, str, Decimal], ...]  # (link id, invoice id, amount)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CreditNote:
        links = [x for x in d.get("transactionLinks") or [] if isinstance(x, dict)]
        return cls(
            to_id(d.get("id")),
            opt_str(d.get("creditNoteNumber")),
            ref_id(d.get("customer")),
            opt_str(d.get("reference")),
            opt_str(d.get("status")),
            to_decimal(d.get("totalAmount")) or ZERO,
            to_decimal(d.get("balance")) or ZERO,
            tuple(
                (
                    str(x.get("linkId") or ""),
                    to_id(x.get("transactionId")),
                    to_decimal(x.get("transactionAmount")) or ZERO,
                )
                for x in links
            ),
        )

    def applied_to(self, invoice_id: str) -> Decimal:
        """What this credit note has given one invoice."""
        return sum((amount for _, inv, amount in self.links if inv == invoice_id), ZERO)


@dataclass(frozen=True)
class InvoiceLine:
    """One line to send on a new invoice; `item` and `tax_rate` are ids or names."""

    item: str
    quantity: Decimal
    price: Decimal
    tax_rate: str
    description: str | None = None

    def to_json(self, line_number: int) -> dict[str, Any]:
        line: dict[str, Any] = {
            "lineNumber": line_number,
            "itemDetails": {"item": self.item, "price": self.price, "quantity": self.quantity},
            "taxRate": self.tax_rate,
        }
        if self.description:
            line["description"] = self.description
        return line


@dataclass(frozen=True)
class Allocation:
    """Part of a receipt applied to one invoice."""

    invoice_id: str
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "transactionId": self.invoice_id,
            "transactionAmount": self.amount,
            "transactionType": "Invoice",
        }


def quote_filter(value: str) -> str:
    """A filter string literal: single quotes, with embedded quotes doubled (OData style)."""
    return "'" + value.replace("'", "''") + "'"


def to_wire(value: Any) -> Any:
    """JSON-ready values; Decimals go out as numbers (float is exact for cent amounts)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value
