"""Compare Cliniko with the clinic's Reckon book: every invoice status, the credit notes and
receipts the sync makes for them, and totals by month and tax code (invoices less credit notes).

Pure functions over rows already read, so the rules are easy to test and to read. What Cliniko
implies for Reckon (`expected`) follows the sync's own rules: open credit → invoice at zero plus a
customer credit note for the excess; written off → a write-off credit note for the total;
archived after it reached Reckon → a reversal credit note; archived before → nothing.
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
from portal.services.formats import dollars_text

ZERO = Decimal(0)
SIDES = ("cliniko_total", "cliniko_tax", "reckon_total", "reckon_tax")
NOTE_PREFIXES = {
    "credit": m.CREDIT_REFERENCE.format(number=""),
    "writeoff": m.WRITE_OFF_REFERENCE.format(number=""),
    "reversal": m.REVERSAL_REFERENCE.format(number=""),
}


@dataclass(frozen=True)
class Variance:
    kind: str  # missing_in_reckon | missing_in_cliniko | amount | tax | status | credit_note |
    # receipt | liability | unsent
    reference: str
    cliniko_id: str | None
    reckon_id: str | None
    issue_date: date | None
    cliniko_value: str
    reckon_value: str
    message: str


def note_purpose(reference: str) -> tuple[str, str] | None:
    """ "CLINIKO-WO-12" → ("writeoff", "12")."""
    for purpose, prefix in NOTE_PREFIXES.items():
        if reference.startswith(prefix):
            return purpose, reference[len(prefix) :]
    return None


def expected_notes(inv: Invoice, sent: bool) -> dict[str, Decimal]:
    """The credit notes Cliniko's state calls for, by purpose, with their totals (a reversal's
    total is the Reckon invoice's, so it is None here and checked against that)."""
    total = m.invoice_totals(inv)[0]
    if m.invoice_archived(inv):
        return {"reversal": ZERO} if sent else {}
    if total < 0:
        return {"credit": -total}
    if inv.status == 30 and total > 0:
        return {"writeoff": total}
    return {}


def compare_invoice(
    ref: str,
    inv: Invoice | None,
    row: dict[str, Any] | None,
    notes: dict[str, dict[str, Any]],
) -> list[Variance]:
    """Every difference between one Cliniko invoice and its Reckon invoice and credit notes."""
    rid = str(row["id"]) if row else None
    cid = inv.id if inv else None
    when = (inv.issue_date if inv else None) or (to_date(row.get("invoiceDate")) if row else None)

    def v(kind: str, cval: Any, rval: Any, message: str) -> Variance:
        return Variance(kind, ref, cid, rid, when, str(cval), str(rval), message)

    if inv is None:
        if row is None or (to_decimal(row.get("totalAmount")) or ZERO) == 0:
            return []
        return [
            v("missing_in_cliniko", "", row.get("totalAmount"), "In Reckon but not in Cliniko.")
        ]
    total, tax = m.invoice_totals(inv)
    out = _notes(inv, row, notes, v)
    if m.invoice_archived(inv):
        return out
    if row is None:
        return [
            *out,
            v("missing_in_reckon", total, "", f"{_status(inv)} in Cliniko, not in Reckon."),
        ]
    r_total = to_decimal(row.get("totalAmount")) or ZERO
    r_tax = to_decimal(row.get("totalTaxAmount")) or ZERO
    if r_total != max(total, ZERO):
        out.append(
            v(
                "amount",
                max(total, ZERO),
                r_total,
                f"Totals differ by {dollars_text(r_total - max(total, ZERO))}.",
            )
        )
    if r_tax != tax:
        out.append(v("tax", tax, r_tax, f"Tax differs by {dollars_text(r_tax - tax)}."))
    balance = to_decimal(row.get("balance")) or ZERO
    settled = inv.status in (20, 30, 40)
    if settled and balance > 0:
        out.append(
            v(
                "status",
                _status(inv),
                f"Open ({dollars_text(balance)})",
                f"{_status(inv)} in Cliniko, open in Reckon.",
            )
        )
    if inv.status == 10 and balance <= 0 and r_total > 0:
        out.append(v("status", "Open", row.get("status"), "Open in Cliniko, paid in Reckon."))
    return out


def _status(inv: Invoice) -> str:
    return {10: "Open", 20: "Paid", 30: "Written off", 40: "Open credit"}.get(
        inv.status or 0, "Issued"
    )


def _notes(
    inv: Invoice, row: dict[str, Any] | None, notes: dict[str, dict[str, Any]], v: Any
) -> list[Variance]:
    out = []
    wanted = expected_notes(inv, sent=row is not None)
    for purpose, amount in wanted.items():
        note = notes.get(purpose)
        if purpose == "reversal" and row is not None:
            amount = to_decimal(row.get("totalAmount")) or ZERO
        if note is None:
            if amount:
                out.append(
                    v(
                        "credit_note",
                        amount,
                        "",
                        f"{_purpose_text(purpose)}: no credit note in Reckon.",
                    )
                )
            continue
        got = to_decimal(note.get("totalAmount")) or ZERO
        if got != amount:
            out.append(
                v(
                    "credit_note",
                    amount,
                    got,
                    f"{_purpose_text(purpose)}: the credit note differs by "
                    f"{dollars_text(got - amount)}.",
                )
            )
    for purpose, note in notes.items():
        if purpose not in wanted:
            out.append(
                v(
                    "credit_note",
                    "",
                    note.get("totalAmount"),
                    f"A {purpose} credit note in Reckon that Cliniko does not call for.",
                )
            )
    return out


def _purpose_text(purpose: str) -> str:
    return {
        "credit": "Open credit in Cliniko",
        "writeoff": "Written off in Cliniko",
        "reversal": "Archived in Cliniko after it reached Reckon",
    }[purpose]


def compare_receipt(ref: str, inv: Invoice | None, row: dict[str, Any]) -> list[Variance]:
    """A `CLINIKO-PAY-` receipt must belong to an invoice Cliniko shows as paid and not archived."""
    if inv is not None and inv.status == 20 and not m.invoice_archived(inv):
        return []
    why = (
        "its invoice is not in Cliniko"
        if inv is None
        else (
            "its invoice was archived in Cliniko (the payment with it)"
            if m.invoice_archived(inv)
            else f"its invoice is {_status(inv).lower()} in Cliniko, not paid"
        )
    )
    return [
        Variance(
            "receipt",
            ref,
            inv.id if inv else None,
            str(row.get("id")),
            to_date(row.get("receiptDate")),
            _status(inv) if inv else "",
            str(row.get("totalAmount")),
            f"A receipt in Reckon but {why}.",
        )
    ]


@dataclass
class Totals:
    """Sums by (month, tax code) for each side: invoices less credit notes."""

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


def _tax_of(amount: Decimal, rate: Decimal) -> Decimal:
    return m.cents(amount * rate / (100 + rate)) if rate else ZERO


def add_cliniko(
    totals: Totals,
    settings: AccountingSettings,
    inv: Invoice,
    lines: list[InvoiceItem],
    rates: dict[str, Decimal],
    sent: bool,
    event_day: date | None,
) -> None:
    """What Cliniko implies for the books, by month and code: the invoice's lines when issued,
    and, on the day it happened, the credit notes its status calls for."""
    if inv.issue_date is None or (m.invoice_archived(inv) and not sent):
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
    later = (event_day or inv.issue_date).strftime("%Y-%m")
    total = m.invoice_totals(inv)[0]
    if m.invoice_archived(inv):
        for code, amount, tax in booked:
            totals.add(later, code, "cliniko", -amount, -tax)
    elif total < 0:  # the excess leaves the invoice and comes back as a credit note
        code = next((c for c, a, _ in reversed(booked) if a < 0), settings.tax_voucher)
        totals.add(month, code, "cliniko", -total, ZERO)
        totals.add(later, code, "cliniko", total, ZERO)
    elif inv.status == 30:
        by_code: dict[str, Decimal] = defaultdict(Decimal)
        for code, amount, _ in booked:
            by_code[code] += amount
        for code, share in m.proportional(by_code, total):
            totals.add(later, code, "cliniko", -share, -_tax_of(share, rates.get(code, ZERO)))


def _cliniko_line(settings: AccountingSettings, it: InvoiceItem) -> tuple[str, Decimal, Decimal]:
    if it.product_id:
        key, kind = m.product_key(it.product_id), "product"
    else:
        key = m.billable_key(it.billable_item_id or "")
        kind = "voucher" if (it.unit_price or ZERO) < 0 else "service"
    amount, rate = m.cents(it.total_including_tax or ZERO), it.tax_rate or ZERO
    return m.tax_code_for(settings, key, kind), amount, _tax_of(amount, rate)


def add_reckon(
    totals: Totals,
    row: dict[str, Any],
    sign: int = 1,
    date_key: str = "invoiceDate",
    side: str = "reckon",
    when: date | None = None,
) -> None:
    """Reckon's lines by their tax code: invoices (sign 1) and credit notes (sign -1)."""
    when = when or to_date(row.get(date_key))
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
        gross = amount if inclusive else amount + tax
        totals.add(month, code, side, sign * gross, sign * tax)
