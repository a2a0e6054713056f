"""Rows of Cliniko's "Invoice items" data export, one per item (cliniko.md §6, headers guessed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from ..cliniko.store import ClinikoAccount

TWO = Decimal("0.01")


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else str(amount.quantize(TWO))


def export_rows(
    account: ClinikoAccount, start: date | None, end: date | None
) -> Iterator[list[str]]:
    """Invoice items whose invoice was issued in [start, end], archived ones included and marked."""
    patients = account.table("patients")
    practitioners = account.table("practitioners")
    business = next(iter(account.table("businesses")))
    items = account.table("invoice_items")
    for invoice in account.table("invoices"):
        issued = invoice["issue_date"]
        if (start and issued < start) or (end and issued > end):
            continue
        patient = patients.get(invoice["patient_id"]) or {}
        practitioner = practitioners.get(invoice["practitioner_id"]) or {}
        for item in items.lookup("invoice_id", [invoice["id"]]):
            yield [
                str(invoice["number"]),
                issued.isoformat(),
                patient.get("label", ""),
                str(invoice["patient_id"]),
                practitioner.get("display_name", ""),
                business["business_name"],
                item["name"],
                item["code"] or "",
                item["_item_type"],
                str(item["quantity"]),
                _money(item["unit_price"]),
                _money(item["discounted_amount"]),
                item["tax_name"] or "",
                f"{item['tax_rate'].normalize():f}",
                _money(item["total_including_tax"]),
                invoice["status_description"],
                item["id"],
                invoice["id"],
                "Yes" if invoice["archived_at"] or item["archived_at"] else "No",
            ]
