"""Reconciliation batches: an uploaded export, its column mapping, exclusions and approval."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import Select, delete, distinct, func, select

from portal.extensions import db
from portal.models import Clinic, User, Voucher
from portal.models.reconciliation import (
    ACTIONABLE,
    BatchStatus,
    ExportColumnMapping,
    ReconciliationBatch,
    ReconciliationRow,
)
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event
from portal.services.reconciliation.export_reader import (
    FIELDS,
    ExportError,
    guess_mapping,
    missing_fields,
    sniff_export,
)
from portal.services.reconciliation.plan import reallocate_voucher, summarise
from portal.services.reconciliation.review import out_of_date_reason
from portal.tenancy import owned

CHUNK = 1024 * 1024


class UploadTooLarge(DomainError):
    """The upload passed the size limit."""


def upload_dir(clinic: Clinic) -> Path:
    """Each clinic's uploads live apart, so one clinic's path never names another's file."""
    path = Path(current_app.config["RECONCILIATION_UPLOAD_DIR"]) / f"clinic-{clinic.id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_stream(stream: IO[bytes], target: Path, limit: int) -> tuple[int, str]:
    """Copy in chunks to disk with a running size check and hash; never all in memory."""
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB.")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def remembered_mapping(clinic: Clinic) -> dict[str, str]:
    saved = db.session.scalar(owned(ExportColumnMapping, clinic))
    return dict(saved.columns) if saved else {}


def create_batch(
    clinic: Clinic, actor: User, filename: str, stream: IO[bytes]
) -> ReconciliationBatch:
    """Store the upload and read its header; needs-mapping when required columns are unknown."""
    target = upload_dir(clinic) / f"{uuid.uuid4().hex}.csv"
    size, sha = _save_stream(stream, target, current_app.config["RECONCILIATION_MAX_UPLOAD_BYTES"])
    try:
        fmt = sniff_export(target)
    except ExportError:
        target.unlink(missing_ok=True)
        raise
    mapping = guess_mapping(fmt.headers, remembered_mapping(clinic))
    batch = ReconciliationBatch(
        clinic_id=clinic.id,
        created_by_id=actor.id,
        filename=(filename or "export.csv")[-255:],
        stored_path=str(target),
        size_bytes=size,
        sha256=sha,
        encoding=fmt.encoding,
        delimiter=fmt.delimiter,
        headers=fmt.headers[:200],
        mapping=mapping,
        status=BatchStatus.NEEDS_MAPPING if missing_fields(mapping) else BatchStatus.PLANNING,
    )
    db.session.add(batch)
    db.session.flush()
    record_event(
        "reconciliation.upload",
        actor,
        clinic=clinic,
        target=f"batch:{batch.id}",
        detail={"filename": batch.filename, "bytes": size},
    )
    return batch


def set_mapping(batch: ReconciliationBatch, chosen: dict[str, int | None]) -> None:
    """Use the person's columns and remember them (by header name) for the clinic's next file."""
    mapping = {f: i for f, i in chosen.items() if f in FIELDS and i is not None}
    if missing := missing_fields(mapping):
        labels = ", ".join(FIELDS[f][0] for f in missing)
        raise DomainError(f"Choose a column for: {labels}.")
    if len(set(mapping.values())) != len(mapping):
        raise DomainError("Each column can be used for one field only.")
    batch.mapping = mapping
    batch.status = BatchStatus.PLANNING
    saved = db.session.scalar(owned(ExportColumnMapping, batch_clinic(batch)))
    if saved is None:
        saved = ExportColumnMapping(clinic_id=batch.clinic_id)
        db.session.add(saved)
    saved.columns = {f: batch.headers[i] for f, i in mapping.items() if i < len(batch.headers)}
    # Rows read with the old columns go; the plan run reads the file again with these.
    db.session.execute(delete(ReconciliationRow).where(ReconciliationRow.batch_id == batch.id))
    db.session.flush()


def batch_clinic(batch: ReconciliationBatch) -> Clinic:
    clinic = db.session.get(Clinic, batch.clinic_id)
    assert clinic is not None
    return clinic


def toggle_exclusion(batch: ReconciliationBatch, row: ReconciliationRow, excluded: bool) -> None:
    """Leave a row out of (or put it back into) the plan; the voucher's other rows follow."""
    if not batch.can_edit_plan:
        raise DomainError("This plan can no longer be changed.")
    row.excluded = excluded
    if row.voucher_id is not None:
        reallocate_voucher(batch, row.voucher_id)
    summarise(batch)


def approve_batch(batch: ReconciliationBatch, actor: User) -> None:
    if not batch.can_edit_plan:
        raise DomainError("Only a finished plan that has not been applied can be approved.")
    if not planned_cents(batch)[0] and not items_to_archive(batch):
        raise DomainError("There is nothing to redeem or archive in this plan.")
    stale = out_of_date_reason(batch)
    if stale:
        raise DomainError(f"This plan is out of date — re-plan it: {stale}")
    batch.approved_by_id, batch.approved_at = actor.id, utcnow()
    batch.status = BatchStatus.APPLYING
    record_event(
        "reconciliation.approve",
        actor,
        clinic=batch_clinic(batch),
        target=f"batch:{batch.id}",
        detail={"totals": batch.totals},
    )


def ids_changed_by_spreadsheet(batch: ReconciliationBatch) -> int:
    """Rows whose invoice item id is not Cliniko's integer (a spreadsheet rewrote it), which are
    matched by invoice number, code and amount instead."""
    stmt = select(func.count()).where(
        ReconciliationRow.batch_id == batch.id,
        ReconciliationRow.invoice_item_id != "",
        ReconciliationRow.ref.like("inv:%"),
    )
    return db.session.scalar(stmt) or 0


def planned_cents(batch: ReconciliationBatch) -> tuple[int, int]:
    """(rows, cents) the apply will redeem."""
    rows = cents = 0
    for cls in ACTIONABLE:
        entry = (batch.totals or {}).get(cls) or {}
        rows, cents = rows + entry.get("rows", 0), cents + entry.get("redeem_cents", 0)
    return rows, cents


def items_to_archive(batch: ReconciliationBatch) -> int:
    """Vouchers used up before this plan whose Cliniko billable item is still live: applying the
    plan archives them even when there is nothing left to redeem."""
    stmt = (
        select(func.count(distinct(Voucher.id)))
        .join(ReconciliationRow, ReconciliationRow.voucher_id == Voucher.id)
        .where(
            ReconciliationRow.batch_id == batch.id,
            ReconciliationRow.plan_balance_cents == 0,
            Voucher.clinic_id == batch.clinic_id,
            Voucher.balance_cents <= 0,
            Voucher.billable_item_archived_at.is_(None),
        )
    )
    return db.session.scalar(stmt) or 0


def batches_query(clinic: Clinic) -> Select[Any]:
    return owned(ReconciliationBatch, clinic).order_by(
        ReconciliationBatch.created_at.desc(), ReconciliationBatch.id.desc()
    )


def rows_query(
    batch: ReconciliationBatch, classification: str = "", *, by_voucher: bool = False
) -> Select[Any]:
    """The batch's rows (of one class, or excluded ones), in file order or by voucher (each
    voucher's rows together, in the order they use it)."""
    stmt = select(ReconciliationRow).where(ReconciliationRow.batch_id == batch.id)
    if classification == "excluded":
        stmt = stmt.where(ReconciliationRow.excluded.is_(True))
    elif classification:
        stmt = stmt.where(ReconciliationRow.classification == classification)
    if by_voucher:
        return stmt.order_by(
            ReconciliationRow.voucher_id.is_(None),
            ReconciliationRow.code,
            ReconciliationRow.voucher_id,
            ReconciliationRow.seq,
            ReconciliationRow.row_number,
        )
    return stmt.order_by(ReconciliationRow.row_number)


def report_rows(batch: ReconciliationBatch) -> Iterator[list[str]]:
    """Every stored row with its plan and outcome, streamed for the CSV download."""
    yield [
        "row",
        "invoice",
        "issue_date",
        "code",
        "item",
        "amount",
        "class",
        "redeem",
        "excluded",
        "outcome",
        "message",
        "ledger_key",
    ]
    stmt = rows_query(batch).execution_options(yield_per=1000)
    for r in db.session.scalars(stmt):
        yield [
            str(r.row_number),
            r.invoice_number,
            r.issue_date.isoformat() if r.issue_date else "",
            r.code,
            r.item_name,
            f"{r.amount_cents / 100:.2f}",
            r.classification,
            f"{r.redeem_cents / 100:.2f}",
            "yes" if r.excluded else "",
            r.outcome,
            r.outcome_message or r.reason,
            r.ref,
        ]
