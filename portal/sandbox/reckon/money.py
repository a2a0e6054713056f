"""Money rules: line tax and totals, invoice balances and statuses, customer balances."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .assumptions import CENT, EXCLUSIVE_TOTAL_INCLUDES_TAX
from .store import Book, Record

ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round half-up to the cent."""
    return value.quantize(CENT, ROUND_HALF_UP)


def line_amount(
    price: Decimal,
    quantity: Decimal,
    discount_amount: Decimal | None,
    discount_percent: Decimal | None,
) -> tuple[Decimal, Decimal]:
    """A line's amount after its discount, and the discount, in the header's tax status."""
    base = cents(price * quantity)
    if discount_percent is not None:
        discount = cents(base * discount_percent / 100)
    else:
        discount = cents(discount_amount or ZERO)
    return base - discount, discount


def line_tax(amount: Decimal, rate: Decimal, tax_status: str) -> Decimal:
    """Tax on one line, to the cent [DOC reckon.md §8]."""
    # Inclusive: gross * r / (100 + r), i.e. gross / 11 at 10%; Exclusive: net * r / 100.
    if tax_status == "NonTaxed" or rate == 0:
        return ZERO
    if tax_status == "Inclusive":
        return cents(amount * rate / (100 + rate))
    return cents(amount * rate / 100)


def invoice_totals(
    lines: list[tuple[Decimal, Decimal]], tax_status: str
) -> tuple[Decimal, Decimal]:
    """`(totalAmount, totalTaxAmount)` from per-line `(amount, tax)` pairs."""
    amount = sum((a for a, _ in lines), ZERO)
    tax = sum((t for _, t in lines), ZERO)
    if tax_status == "Exclusive" and EXCLUSIVE_TOTAL_INCLUDES_TAX:
        return amount + tax, tax
    return amount, tax


def settle(invoice: Record) -> None:
    """Balance is what receipts have not covered; an issued invoice is Paid at balance 0 [INF]."""
    invoice["balance"] = invoice["totalAmount"] - invoice["_allocated"]
    if invoice["status"] != "Draft":
        invoice["status"] = "Paid" if invoice["balance"] <= 0 else "Approved"


def refresh_customer(book: Book, customer_id: str | None) -> None:
    """A customer's balance and invoice count follow their issued (non-Draft) invoices [INF]."""
    customer = book.customers.get(customer_id or "")
    if customer is None:
        return
    issued = [
        i for i in book.invoices.find("customer.id", customer_id) or [] if i["status"] != "Draft"
    ]
    credits = [
        n for n in book.creditnotes.find("customer.id", customer_id) or [] if n["status"] != "Draft"
    ]
    owed = sum((i["balance"] for i in issued), ZERO)
    customer["balance"] = owed - sum((n["balance"] for n in credits), ZERO)
    customer["invoiceCount"] = len(issued)


def settle_credit(note: Record) -> None:
    """Balance: what no invoice has taken; approved and used up is Closed [INF]."""
    note["balance"] = note["totalAmount"] - note["_applied"]
    if note["status"] != "Draft":
        note["status"] = "Closed" if note["balance"] <= 0 else "Approved"
