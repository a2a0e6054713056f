"""Reconciling Cliniko's invoice-items export with VaocherApp: batches, rows and the ledger."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .owned import ClinicOwned
from .types import UTCDateTime, utcnow


class BatchStatus(StrEnum):
    NEEDS_MAPPING = "needs_mapping"
    PLANNING = "planning"
    PLANNED = "planned"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    OUT_OF_DATE = "out_of_date"  # its vouchers changed after planning: re-plan before applying


class RowClass(StrEnum):
    """How the plan classifies a voucher row (rows that are not voucher rows are only counted)."""

    REDEEM = "redeem"
    DIFFERENCE = "redeem_difference"
    ALREADY = "already_redeemed"
    UNKNOWN = "unknown_code"
    VOIDED = "voided_or_expired"
    AMBIGUOUS = "ambiguous"
    INVALID = "invalid_row"
    PENDING = "pending"  # found, not yet checked against VaocherApp


ACTIONABLE = (RowClass.REDEEM, RowClass.DIFFERENCE)


class RowOutcome(StrEnum):
    NONE = ""
    REDEEMED = "redeemed"
    SKIPPED = "skipped"
    FAILED = "failed"


class LedgerState(StrEnum):
    INTENT = "intent"  # written before the redeem call; decided from the balance when left over
    DONE = "done"


class ReconciliationBatch(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One uploaded export: its file, the plan made from it and the apply that followed."""

    __tablename__ = "reconciliation_batch"
    __table_args__ = (Index("ix_reconciliation_batch_clinic_created", "clinic_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    stored_path: Mapped[str] = mapped_column(String(500), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    encoding: Mapped[str] = mapped_column(String(32), default="")
    delimiter: Mapped[str] = mapped_column(String(4), default=",")
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # field → column index
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PLANNING)
    message: Mapped[str] = mapped_column(Text, default="")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    not_voucher_rows: Mapped[int] = mapped_column(Integer, default=0)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # class → {rows, cents}
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    apply_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    clinic = relationship("Clinic")

    @property
    def can_edit_plan(self) -> bool:
        return self.status == BatchStatus.PLANNED and self.apply_run_id is None


class ReconciliationRow(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One voucher row of an export (or a row that could not be read), with plan and outcome."""

    __tablename__ = "reconciliation_row"
    __table_args__ = (
        Index("ix_reconciliation_row_batch_class", "batch_id", "classification"),
        Index("ix_reconciliation_row_batch_voucher", "batch_id", "voucher_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_batch.id"))
    row_number: Mapped[int] = mapped_column(Integer)  # as a spreadsheet shows it (header = 1)
    ref: Mapped[str] = mapped_column(String(200), default="")  # the ledger key
    # The row's invoice-number key (`inv:…`) when `ref` is its invoice item id: an export with,
    # without, or with spreadsheet-mangled ids still meets the ledger entries of the other kind.
    alt_ref: Mapped[str] = mapped_column(String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")  # why a person decided the row
    invoice_number: Mapped[str] = mapped_column(String(64), default="")
    invoice_id: Mapped[str] = mapped_column(String(32), default="")
    invoice_item_id: Mapped[str] = mapped_column(String(32), default="")
    issue_date: Mapped[date | None] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(64), default="")
    item_name: Mapped[str] = mapped_column(String(255), default="")
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("voucher.id"))
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)  # |line amount|
    # The line as the export has it, signed: a use takes money off (minus), a sale line adds.
    # None for rows stored before it was kept (they are uses: a positive line is ambiguous).
    line_cents: Mapped[int | None] = mapped_column(Integer)
    redeem_cents: Mapped[int] = mapped_column(Integer, default=0)  # what the plan will redeem
    seq: Mapped[int] = mapped_column(Integer, default=0)  # order of use within the voucher
    # The voucher as the plan read it, kept on each row so exclusions can re-allocate.
    plan_balance_cents: Mapped[int | None] = mapped_column(Integer)
    plan_outside_cents: Mapped[int] = mapped_column(Integer, default=0)
    classification: Mapped[str] = mapped_column(String(24), default=RowClass.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(16), default=RowOutcome.NONE)
    outcome_message: Mapped[str] = mapped_column(Text, default="")
    apply_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))

    voucher = relationship("Voucher")

    @property
    def signed_cents(self) -> int:
        return self.line_cents if self.line_cents is not None else -self.amount_cents


class ReconciliationLedger(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """What was redeemed for which invoice row: the guard against ever redeeming a row twice."""

    __tablename__ = "reconciliation_ledger"
    __table_args__ = (
        UniqueConstraint("clinic_id", "key"),
        Index("ix_reconciliation_ledger_clinic_alt_key", "clinic_id", "alt_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    alt_key: Mapped[str | None] = mapped_column(String(200))  # the row's alt_ref, when it had one
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    balance_before_cents: Mapped[int] = mapped_column(Integer)
    balance_after_cents: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default=LedgerState.INTENT)
    batch_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_batch.id"))
    row_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_row.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    transaction_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExportColumnMapping(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """The columns a clinic mapped by hand, remembered by header name for its next export."""

    __tablename__ = "export_column_mapping"
    __table_args__ = (UniqueConstraint("clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    columns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # field → header name
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
