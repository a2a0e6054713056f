"""Building Cliniko rows that need arithmetic or ids: invoice lines, invoices, new records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ..store import Row
from .assumptions import CLINIKO_STATUS_DESCRIPTIONS
from .store import ClinikoAccount

CENT = Decimal("0.01")


class Sink(Protocol):
    """Where new rows go: the live account (real ids now) or the seed draft (ids at the end)."""

    def add(self, plural: str, row: Row) -> Any: ...


class LiveSink:
    """Insert straight into an account's tables with fresh ids."""

    def __init__(self, account: ClinikoAccount) -> None:
        self.account = account

    def add(self, plural: str, row: Row) -> Any:
        row["id"] = self.account.ids.next()
        self.account.table(plural).insert(row)
        return row["id"]


@dataclass(frozen=True)
class Line:
    """One invoice line before arithmetic: what was sold, at what ex-tax price."""

    item_id: Any
    is_product: bool
    name: str
    code: str | None
    item_type: str
    unit_price: Decimal
    tax_name: str | None
    tax_rate: Decimal
    quantity: int = 1
    discount: Decimal = Decimal(0)


def line_amounts(line: Line) -> dict[str, Decimal]:
    """Tax on the ex-tax price, then a monetary discount off the taxed total (cliniko.md §4)."""
    factor = 1 + line.tax_rate / 100
    gross = line.unit_price * line.quantity * factor
    total = (gross - line.discount).quantize(CENT)
    net = (total / factor).quantize(Decimal("0.001"))
    percent = (line.discount / gross * 100).quantize(Decimal("0.0001")) if gross else Decimal(0)
    return {"total": total, "net": net, "percent": percent}


def _item_row(line: Line, invoice_id: Any, when: datetime) -> Row:
    amounts = line_amounts(line)
    return {
        "id": None,
        "name": line.name,
        "code": line.code,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount_percentage": amounts["percent"],
        "discounted_amount": line.discount,
        "is_monetary_discount": True,
        "concession_type_name": "",
        "net_price": amounts["net"],
        "tax_name": line.tax_name,
        # Deprecated tax_amount echoes the rate, as the docs' own example does.
        "tax_rate": line.tax_rate,
        "tax_amount": line.tax_rate,
        "total_including_tax": amounts["total"],
        "archived_at": None,
        "deleted_at": None,
        "created_at": when,
        "updated_at": when,
        "invoice_id": invoice_id,
        "billable_item_id": None if line.is_product else line.item_id,
        "product_id": line.item_id if line.is_product else None,
        "_item_type": line.item_type,
    }


def status_for(total: Decimal, paid: bool) -> int:
    """Paid when settled or nothing is owed; a negative total leaves credit open."""
    if total < 0:
        return 40
    return 20 if paid or total == 0 else 10


@dataclass(frozen=True)
class InvoiceFacts:
    """Who and when for a new invoice."""

    number: int
    issue_date: date
    patient_id: Any
    practitioner_id: Any
    business_id: Any
    created_at: datetime
    paid: bool = False
    archived_at: datetime | None = None
    status: int | None = None


def add_invoice(sink: Sink, facts: InvoiceFacts, lines: list[Line]) -> tuple[Any, Row]:
    """Insert an invoice and its items; status and totals follow from the lines."""
    amounts = [line_amounts(line) for line in lines]
    total = sum((a["total"] for a in amounts), Decimal(0))
    net = sum((a["net"] for a in amounts), Decimal(0)).quantize(CENT)
    status = facts.status or status_for(total, facts.paid)
    closed = facts.created_at if status in (20, 30) else None
    when = facts.archived_at or facts.created_at
    row: Row = {
        "id": None,
        "number": facts.number,
        "issue_date": facts.issue_date,
        "status": status,
        "status_description": CLINIKO_STATUS_DESCRIPTIONS[status],
        "total_amount": total,
        "net_amount": net,
        "tax_amount": total - net,
        "discounted_amount": sum((line.discount for line in lines), Decimal(0)),
        "notes": None,
        "invoice_to": None,
        "patient_extra_information": None,
        "online_payment_url": None,
        "closed_at": closed,
        "archived_at": facts.archived_at,
        "deleted_at": None,
        "created_at": facts.created_at,
        "updated_at": when,
        "patient_id": facts.patient_id,
        "practitioner_id": facts.practitioner_id,
        "business_id": facts.business_id,
    }
    invoice_id = sink.add("invoices", row)
    for line in lines:
        item = _item_row(line, invoice_id, facts.created_at)
        item["archived_at"] = facts.archived_at  # an archived invoice's lines go with it
        sink.add("invoice_items", item)
    return invoice_id, row
