"""Pure mapping from Cliniko rows to Reckon request bodies: items, customers, invoice lines, money.

No I/O here, so the rules (tax codes, cents, names) are easy to read and to test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from portal.clients.cliniko_models import BillableItem, Invoice, InvoiceItem, Product
from portal.clients.reckon_models import InvoiceLine
from portal.models import AccountingSettings

CENT = Decimal("0.01")
ZERO = Decimal(0)
REFERENCE = "CLINIKO-INV-{number}"
PAYMENT_REFERENCE = "CLINIKO-PAY-{number}"
# One credit note per invoice and purpose: open credit, write-off, reversal of an archived invoice.
CREDIT_REFERENCE = "CLINIKO-CR-{number}"
WRITE_OFF_REFERENCE = "CLINIKO-WO-{number}"
REVERSAL_REFERENCE = "CLINIKO-REV-{number}"
VOUCHER_SALE_REFERENCE = "VOUCHER-SALE-{code}"
BREAKAGE_REFERENCE = "VOUCHER-EXPIRED-{code}"
VOUCHER_ITEM_CODE = "CLK-VOUCHER"
ITEM_CODE = "CLK-{key}"  # unique per Cliniko record, unlike Cliniko's optional item codes
PHONE_TYPES = {"Mobile": "Mobile", "Work": "Work", "Home": "Phone", "Fax": "Fax"}


class MappingError(ValueError):
    """The record cannot be mapped with the clinic's settings; the message says what to change."""


class NeedsAction(MappingError):
    """The record must not be pushed as is; a person decides (e.g. archived after it was sent)."""


def cents(value: Decimal) -> Decimal:
    """Round half-up to the cent, as Reckon does."""
    return value.quantize(CENT, ROUND_HALF_UP)


def payload_hash(payload: Any) -> str:
    """A stable fingerprint of what we send, so an unchanged record is never sent again. Keys
    sent as null (a removal) count as absent, so adding removals changed no old fingerprint."""
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if v is not None}
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---- items ---------------------------------------------------------------------------------------
def billable_key(item_id: str) -> str:
    return f"bi-{item_id}"


def product_key(product_id: str) -> str:
    return f"pr-{product_id}"


def item_kind(item: BillableItem | Product) -> str:
    """service, product or voucher (VaocherApp's negative-price "Other" items)."""
    if isinstance(item, Product) or item.item_type == "Product":
        return "product"
    if item.item_type == "Other" and item.price < 0:
        return "voucher"
    return "service"


def tax_code_for(settings: AccountingSettings, key: str, kind: str) -> str:
    """The per-item override, else the code for the item's kind."""
    overrides = settings.tax_overrides or {}
    return str(overrides.get(key) or getattr(settings, f"tax_{kind}"))


def item_body(settings: AccountingSettings, key: str, item: BillableItem | Product) -> dict:
    """A Reckon sale item; ex-tax price (Cliniko stores ex-tax prices), tax code and account."""
    kind = item_kind(item)
    price = item.price if isinstance(item, BillableItem) else (item.price_ex_tax or ZERO)
    return {
        "name": item.name[:100] or key,
        "item_code": ITEM_CODE.format(key=key),
        "price": price,
        "tax_rate": tax_code_for(settings, key, kind),
        "ledger_account": getattr(settings, f"account_{kind}"),
        "item_type": "Product" if kind == "product" else "Service",
        "amount_tax_status": "Exclusive",
    }


def voucher_item_body(settings: AccountingSettings) -> dict:
    """The one item every voucher line uses: codes are bearer value, not products."""
    return {
        "name": "Gift voucher",
        "item_code": VOUCHER_ITEM_CODE,
        "price": ZERO,
        "tax_rate": settings.tax_voucher,
        "ledger_account": settings.account_voucher,
        "item_type": "Service",
        "amount_tax_status": "Exclusive",
    }


# ---- customers -----------------------------------------------------------------------------------
def customer_name(row: dict[str, Any], settings: AccountingSettings, taken: bool) -> str:
    """The patient's name; when another patient has it, add the configured distinguishing mark."""
    name = f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip() or "Patient"
    if not taken:
        return name[:100]
    mark = str(row.get("id"))
    if settings.customer_naming == "date_of_birth" and row.get("date_of_birth"):
        mark = str(row["date_of_birth"])
    suffix = f" ({mark})"
    return name[: 100 - len(suffix)] + suffix


PATIENT_NOTE = "Cliniko patient "  # a customer the portal made says whose it is, in its notes


def customer_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Email, phones and the postal address as Reckon's typed sub-records; one removed in
    Cliniko is sent as null, which a merge patch takes as "remove"."""
    fields: dict[str, Any] = {"notes": f"{PATIENT_NOTE}{row.get('id')}"}
    email = (row.get("email") or "").strip()
    fields["electronicAddresses"] = [{"type": "Email", "address": email[:100]}] if email else None
    phones = [
        {"type": PHONE_TYPES.get(p.get("phone_type") or "", "Phone"), "number": p["number"][:30]}
        for p in row.get("patient_phone_numbers") or []
        if p.get("number")
    ]
    fields["phoneNumbers"] = phones or None
    address = _address(row)
    fields["addresses"] = [address] if address else None
    return fields


def _address(row: dict[str, Any]) -> dict[str, Any] | None:
    parts = {
        "line1": row.get("address_1"),
        "line2": row.get("address_2"),
        "line3": row.get("address_3"),
        "suburb": row.get("city"),
        "state": row.get("state"),
        "postcode": row.get("post_code"),
        "country": row.get("country"),
    }
    kept = {k: str(v)[: 30 if k in ("postcode", "country") else 80] for k, v in parts.items() if v}
    return {"type": "Postal", **kept} if kept else None


# ---- invoices ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PricedLine(InvoiceLine):
    """An invoice line with a discount and, when needed, the tax Cliniko charged."""

    discount: Decimal = ZERO
    tax_amount: Decimal | None = None

    def to_json(self, line_number: int) -> dict[str, Any]:
        line = super().to_json(line_number)
        if self.discount:
            line["itemDetails"]["discountAmount"] = self.discount
        if self.tax_amount is not None:
            # Only to make Reckon's per-line rounding land on Cliniko's tax total to the cent.
            line |= {"taxAmount": self.tax_amount, "taxIsModified": True}
        return line


@dataclass
class InvoicePlan:
    """What an invoice becomes in Reckon, and the money Cliniko says it should add up to."""

    lines: list[PricedLine] = field(default_factory=list)
    total: Decimal = ZERO
    tax: Decimal = ZERO


def line_for(
    it: InvoiceItem, reckon_item: str, code: str, rate: Decimal
) -> tuple[PricedLine, Decimal]:
    """One line whose amount is exactly Cliniko's `total_including_tax`; returns (line, tax)."""
    amount = cents(it.total_including_tax or ZERO)
    quantity = it.quantity or Decimal(1)
    gross_unit = cents((it.unit_price or ZERO) * (1 + rate / 100))  # prices go out in cents
    discount = cents(gross_unit * quantity) - amount  # Cliniko's discount plus any rounding
    if discount < 0:  # Cliniko rounded up where Reckon would not: send the line as one amount
        gross_unit, quantity, discount = amount, Decimal(1), ZERO
    line = PricedLine(reckon_item, quantity, gross_unit, code, it.name[:1000], discount)
    return line, cents(amount * rate / (100 + rate)) if rate else ZERO


def fit_tax(plan: InvoicePlan, line_taxes: list[Decimal], cliniko_tax: Decimal) -> None:
    """If per-line rounding misses Cliniko's tax total, correct the largest taxed line."""
    gap = cliniko_tax - sum(line_taxes, ZERO)
    taxed = [i for i, tax in enumerate(line_taxes) if tax]
    if not gap or not taxed or abs(gap) > CENT * len(line_taxes):
        return  # nothing to fix, or a real difference the mismatch report should show
    i = max(taxed, key=lambda n: line_taxes[n])
    plan.lines[i] = PricedLine(**{**plan.lines[i].__dict__, "tax_amount": line_taxes[i] + gap})


def invoice_totals(invoice: Invoice) -> tuple[Decimal, Decimal]:
    total = cents(invoice.total_amount or ZERO)
    return total, cents(invoice.tax_amount or ZERO)


def invoice_archived(invoice: Invoice) -> bool:
    return bool(invoice.archived_at or invoice.deleted_at)


def proportional(by_code: dict[str, Decimal], total: Decimal) -> list[tuple[str, Decimal]]:
    """`total` spread over the codes with a positive amount, in proportion, to the cent (the
    last code takes the rounding): a write-off reverses each code's share."""
    positive = {code: amount for code, amount in sorted(by_code.items()) if amount > 0}
    whole = sum(positive.values(), ZERO)
    if total <= 0 or whole <= 0:
        return []
    out, left = [], total
    for n, (code, amount) in enumerate(positive.items()):
        share = left if n == len(positive) - 1 else cents(total * amount / whole)
        left -= share
        out.append((code, share))
    return out


def split_excess(lines: list[PricedLine], excess: Decimal) -> list[tuple[int, Decimal]]:
    """An invoice below zero (a voucher worth more than the treatment): take `excess` off its
    negative lines, last first, so the invoice totals zero; returns (line index, amount taken)
    for the credit note that carries the excess as customer credit."""
    taken: list[tuple[int, Decimal]] = []
    for i in reversed(range(len(lines))):
        line = lines[i]
        amount = cents(line.price * line.quantity) - line.discount
        if excess <= 0 or amount >= 0:
            continue
        take = min(-amount, excess)
        lines[i] = PricedLine(
            line.item, Decimal(1), amount + take, line.tax_rate, line.description, ZERO
        )
        taken.append((i, take))
        excess -= take
    return taken
