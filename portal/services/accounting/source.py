"""What a sync run reads: Cliniko rows changed since the watermarks, and Reckon's tax codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from portal.clients.cliniko import ClinikoClient
from portal.clients.cliniko_models import BillableItem, Invoice, InvoiceItem, Product
from portal.clients.parsing import to_datetime, utc_z
from portal.clients.reckon import ReckonClient
from portal.extensions import db
from portal.models import Clinic, SyncWatermark
from portal.services.accounting.map import billable_key, product_key
from portal.tenancy import owned

# Cliniko timestamps are per second and rows can commit out of order: re-read a little.
OVERLAP = timedelta(minutes=10)
# The lines of changed invoices are read this many invoices at a time (one filter listing their
# ids: about 1,100 characters of URL, and a page or two of lines)...
LINES_PER_READ = 50
# ...unless every invoice is wanted (a first sync) or more than this many changed: then one read
# of every line takes fewer calls (a page holds 100 lines, a read of 50 invoices a page or two).
BULK_LINES_THRESHOLD = 2000


@dataclass
class Snapshot:
    """The Cliniko rows one run works on."""

    items: list[tuple[str, BillableItem | Product]] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    lines: dict[str, list[InvoiceItem]] = field(default_factory=dict)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)


def watermark(clinic: Clinic, entity: str) -> datetime | None:
    row = db.session.scalar(owned(SyncWatermark, clinic).where(SyncWatermark.entity == entity))
    return row.value if row else None


def since(clinic: Clinic, entity: str, full: bool) -> datetime | None:
    """Where an incremental read starts: the watermark minus the overlap (None = everything)."""
    mark = None if full else watermark(clinic, entity)
    return mark - OVERLAP if mark else None


def advance_watermark(clinic: Clinic, entity: str, seen: Iterable[datetime | None]) -> None:
    """Move the watermark to the newest row handled (never backwards)."""
    newest = max((t for t in seen if t is not None), default=None)
    if newest is None:
        return
    row = db.session.scalar(owned(SyncWatermark, clinic).where(SyncWatermark.entity == entity))
    if row is None:
        db.session.add(SyncWatermark(clinic_id=clinic.id, entity=entity, value=newest))
    elif newest > row.value:
        row.value = newest
    db.session.flush()


def _filters(updated_since: datetime | None) -> list[str]:
    # `archived_at:*` so archived rows come back too: they must be reported, not missed.
    changed = [f"updated_at:>{utc_z(updated_since)}"] if updated_since else []
    return [*changed, "archived_at:*"]


def raw_rows(cliniko: ClinikoClient, resource: str, filters: list[str]) -> Iterator[dict]:
    """Raw list rows: the client's dataclasses leave out patients' addresses and phones."""
    return cliniko.iter_records(resource, filters)


def read_items(cliniko: ClinikoClient, updated_since: datetime | None) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [
        (billable_key(i.id), i) for i in cliniko.iter_billable_items(updated_since, True)
    ]
    items += [(product_key(p.id), p) for p in cliniko.iter_products(updated_since, True)]
    return items


def read_invoices(
    cliniko: ClinikoClient, updated_since: datetime | None, sync_from: date | None
) -> list[Invoice]:
    rows = cliniko.iter_invoices(updated_since, include_archived=True)
    return [i for i in rows if not (sync_from and i.issue_date and i.issue_date < sync_from)]


def read_lines(
    cliniko: ClinikoClient,
    invoices: list[Invoice],
    stopped: Callable[[], bool] = lambda: False,
    *,
    every: bool = False,
) -> dict[str, list[InvoiceItem]]:
    """Lines of these invoices: LINES_PER_READ invoices per read, or one read of every line
    when they are `every` invoice of the clinic or very many. Once `stopped()` (the run ended
    early), it stops reading and what it returns is incomplete."""
    wanted = sorted({i.id for i in invoices if not i.archived_at})
    lines: dict[str, list[InvoiceItem]] = {invoice_id: [] for invoice_id in wanted}
    if every or len(wanted) > BULK_LINES_THRESHOLD:
        reads: list[list[str] | None] = [None]
    else:
        reads = [wanted[n : n + LINES_PER_READ] for n in range(0, len(wanted), LINES_PER_READ)]
    for ids in reads:
        for line in cliniko.iter_invoice_items(invoice_ids=ids):
            if stopped():
                return lines
            if line.invoice_id in lines:
                lines[line.invoice_id].append(line)
    return lines


def read_patients(
    cliniko: ClinikoClient, updated_since: datetime | None, missing: set[str]
) -> dict[str, dict[str, Any]]:
    """Patients changed since the watermark, plus any still missing that an invoice needs."""
    rows = {str(r["id"]): r for r in raw_rows(cliniko, "patients", _filters(updated_since))}
    for patient_id in missing - rows.keys():
        # Archived patients still have invoices; a plain GET may hide them without the filter.
        rows[patient_id] = cliniko.get_patient_record(patient_id)
    return rows


def patient_updated_at(row: dict[str, Any]) -> datetime | None:
    """When Cliniko last changed a patient (rows are read raw, so the stamp is text)."""
    return to_datetime(row.get("updated_at"))


def tax_rates(reckon: ReckonClient, book_id: str, on: date) -> dict[str, Decimal]:
    """Reckon's sales tax codes, by name, with their rates."""
    return {t.name: t.rate for t in reckon.get_tax_rates(book_id, on) if t.use_on_sales}
