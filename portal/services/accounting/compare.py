"""Compare Cliniko invoices with their Reckon counterparts: variances and totals by tax code/month.

Pure functions over rows already read, so the rules are easy to test and to read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from portal.clients.cliniko_models import Invoice, InvoiceItem
from portal.clients.parsing import to_date, to_decimal
from portal.models import AccountingSettings
from portal.services.accounting import map as m

ZERO = Decimal(0)
SIDES = ("cliniko_total", "cliniko_tax", "reckon_total", "reckon_tax")
ISSUED = (10, 20)  # open or paid: what should be in the books


@dataclass(frozen=True)
class Variance:
    kind: str  # missing_in_reckon | missing_in_cliniko | amount | tax | status
    reference: str
    cliniko_id: str | None
    reckon_id: str | None
    issue_date: date | None
    cliniko_value: str
    reckon_value: str
    message: str


def _issued(inv: Invoice) -> bool:
    return inv.status in ISSUED and not inv.archived_at and not inv.deleted_at


def compare_invoice(ref: str, inv: Invoice | None, row: dict[str, Any] | None) -> list[Variance]:
    """Every difference between one Cliniko invoice and the Reckon invoice with its reference."""
    rid = str(row["id"]) if row else None
    cid = inv.id if inv else None
    when = (inv.issue_date if inv else None) or (to_date(row.get("invoiceDate")) if row else None)

    def v(kind: str, cval: Any, rval: Any, message: str) -> Variance:
        return Variance(kind, ref, cid, rid, when, str(cval), str(rval), message)

    if inv is None or not _issued(inv):
        if row is None or (to_decimal(row.get("totalAmount")) or ZERO) == 0:
            return []
        why = "not in Cliniko" if inv is None else m.invoice_action(inv) or "not issued in Cliniko"
        return [v("missing_in_cliniko", "", row.get("totalAmount"), f"In Reckon but {why}.")]
    total, tax = m.invoice_totals(inv)
    if row is None:
        return [v("missing_in_reckon", total, "", "Issued in Cliniko but not in Reckon.")]
    out = []
    r_total, r_tax = (
        to_decimal(row.get("totalAmount")) or ZERO,
        to_decimal(row.get("totalTaxAmount")),
    )
    if r_total != total:
        out.append(v("amount", total, r_total, f"Totals differ by {r_total - total}."))
    if (r_tax or ZERO) != tax:
        out.append(v("tax", tax, r_tax, f"Tax differs by {(r_tax or ZERO) - tax}."))
    balance = to_decimal(row.get("balance")) or ZERO
    if inv.status == 20 and balance > 0:
        out.append(v("status", "Paid", f"Open ({balance})", "Paid in Cliniko, open in Reckon."))
    if inv.status == 10 and balance <= 0 and r_total > 0:
        out.append(v("status", "Open", row.get("status"), "Open in Cliniko, paid in Reckon."))
    return out


@dataclass
class Totals:
    """Sums by (month, tax code) for each side."""

    cells: dict[tuple[str, str], dict[str, Decimal]]

    def add(self, month: str, code: str, side: str, total: Decimal, tax: Decimal) -> None:
        cell = self.cells.setdefault((month, code), defaultdict(lambda: ZERO))
        cell[f"{side}_total"] += total
        cell[f"{side}_tax"] += tax

    def rows(self) -> list[dict[str, str]]:
        out = []
        for (month, code), cell in sorted(self.cells.items()):
            values = {k: str(cell[k]) for k in SIDES}
            differs = any(cell[f"cliniko_{x}"] != cell[f"reckon_{x}"] for x in ("total", "tax"))
            values["differs"] = "yes" if differs else ""
            out.append({"month": month, "code": code, **values})
        return out


def add_cliniko(
    totals: Totals, settings: AccountingSettings, inv: Invoice, lines: list[InvoiceItem]
) -> None:
    """Cliniko's lines under the tax code the mapping gives them; tax as Cliniko charged it."""
    if not _issued(inv) or inv.issue_date is None:
        return
    month = inv.issue_date.strftime("%Y-%m")
    booked = [_cliniko_line(settings, it) for it in lines]
    # Cliniko rounds tax per invoice: put the remainder where the sync puts it (fit_tax).
    gap = m.invoice_totals(inv)[1] - sum((tax for _, _, tax in booked), ZERO)
    taxed = [i for i, (_, _, tax) in enumerate(booked) if tax]
    if gap and taxed:
        i = max(taxed, key=lambda n: booked[n][2])
        booked[i] = (booked[i][0], booked[i][1], booked[i][2] + gap)
    for code, amount, tax in booked:
        totals.add(month, code, "cliniko", amount, tax)


def _cliniko_line(settings: AccountingSettings, it: InvoiceItem) -> tuple[str, Decimal, Decimal]:
    if it.product_id:
        key, kind = m.product_key(it.product_id), "product"
    else:
        key = m.billable_key(it.billable_item_id or "")
        kind = "voucher" if (it.unit_price or ZERO) < 0 else "service"
    amount, rate = m.cents(it.total_including_tax or ZERO), it.tax_rate or ZERO
    tax = m.cents(amount * rate / (100 + rate)) if rate else ZERO
    return m.tax_code_for(settings, key, kind), amount, tax


def add_reckon(totals: Totals, row: dict[str, Any]) -> None:
    """Reckon's lines by their tax code (issued invoices only)."""
    when = to_date(row.get("invoiceDate"))
    if when is None or row.get("status") == "Draft":
        return
    month = when.strftime("%Y-%m")
    inclusive = row.get("amountTaxStatus") != "Exclusive"
    for line in row.get("lineItems") or []:
        details = line.get("itemDetails") or line.get("accountDetails") or {}
        tax = to_decimal(line.get("taxAmount")) or ZERO
        price, qty = to_decimal(details.get("price")), to_decimal(details.get("quantity"))
        if price is None:
            amount = to_decimal(details.get("amount")) or ZERO
        else:
            discount = to_decimal(details.get("discountAmount")) or ZERO
            amount = m.cents(price * (qty or Decimal(1))) - discount
        code = (line.get("taxRate") or {}).get("name") or "?"
        totals.add(month, code, "reckon", amount if inclusive else amount + tax, tax)
