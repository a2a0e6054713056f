"""Cliniko → Reckon accounting: settings, cross-references, watermarks, reports, schedules."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .job import JobRun
from .owned import ClinicOwned
from .types import UTCDateTime, utcnow


class SyncState(StrEnum):
    PENDING = "pending"  # not yet in Reckon, or a change not yet pushed (e.g. Reckon was down)
    SYNCED = "synced"
    FAILED = "failed"  # Reckon refused it; `message` keeps Reckon's words
    NEEDS_ACTION = "needs_action"  # e.g. archived in Cliniko after it was pushed: a person decides
    NEEDS_DECISION = "needs_decision"  # a patient matches several Reckon customers: pick one


class EntityKind(StrEnum):
    ITEM = "item"
    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"
    VOUCHER_SALE = "voucher_sale"  # a VaocherApp sale: clearing account → voucher liability
    BREAKAGE = "breakage"  # an expired voucher's remaining balance: liability → income
    CREDIT_NOTE = "credit_note"  # open credit, write-off or reversal of one invoice
    CREDIT_LINK = "credit_link"  # customer credit applied to a later invoice
    PARTY = "party"  # a customer the portal itself needs (the VaocherApp sales customer)


class CustomerScope(StrEnum):
    INVOICED = "invoiced"  # patients with invoices (the default: see README)
    ALL = "all"  # every patient


class AccountingSettings(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """How one clinic's Cliniko records map onto its Reckon book."""

    __tablename__ = "accounting_settings"
    __table_args__ = (Unique("clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[str] = mapped_column(String(64), default="")
    tax_service: Mapped[str] = mapped_column(String(32), default="FRE")
    tax_product: Mapped[str] = mapped_column(String(32), default="GST")
    tax_voucher: Mapped[str] = mapped_column(String(32), default="N-T")
    # Cliniko item key ("service:<id>" / "product:<id>") → tax code, overriding the kind's code.
    tax_overrides: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    account_service: Mapped[str] = mapped_column(String(100), default="Sales - Services")
    account_product: Mapped[str] = mapped_column(String(100), default="Sales - Products")
    account_voucher: Mapped[str] = mapped_column(String(100), default="Gift Voucher Liability")
    clearing_account: Mapped[str] = mapped_column(String(100), default="Cliniko Clearing")
    payment_method: Mapped[str] = mapped_column(String(100), default="EFTPOS")
    customer_naming: Mapped[str] = mapped_column(String(32), default="patient_id")
    sync_from: Mapped[date | None] = mapped_column(Date)
    sync_items: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_customers: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_invoices: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_payments: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_vouchers: Mapped[bool] = mapped_column(Boolean, default=True)
    voucher_clearing_account: Mapped[str] = mapped_column(
        String(100), default="VaocherApp Clearing"
    )
    bad_debt_account: Mapped[str] = mapped_column(String(100), default="Bad Debts")
    breakage: Mapped[bool] = mapped_column(Boolean, default=False)
    breakage_account: Mapped[str] = mapped_column(String(100), default="Voucher Breakage")
    customer_scope: Mapped[str] = mapped_column(String(16), default=CustomerScope.INVOICED)
    # A payment term's name sent on every invoice; "" leaves it to the customer's or book's terms.
    payment_terms: Mapped[str] = mapped_column(String(100), default="")
    # Nothing is written to Reckon before a preview (dry run) has been approved.
    approved_preview_id: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AccountingPreview(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """A dry run of the sync: what it would write, with totals by month and tax code."""

    __tablename__ = "accounting_preview"
    __table_args__ = (Index("ix_accounting_preview_clinic_id", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ready|failed
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    run: Mapped[JobRun | None] = relationship()


class LiabilityCheck(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """Gift-voucher liability in Reckon against what VaocherApp says is outstanding."""

    __tablename__ = "liability_check"
    __table_args__ = (Index("ix_liability_check_clinic_id", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reckon_balance: Mapped[str] = mapped_column(String(32), default="0")
    outstanding: Mapped[str] = mapped_column(String(32), default="0")
    # {"vouchers": [{code, reckon, vaocherapp, message}], "account": name}
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def agrees(self) -> bool:
        return self.reckon_balance == self.outstanding


class SyncRecord(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One Cliniko record's counterpart in Reckon and the hash of what was last pushed."""

    __tablename__ = "sync_record"
    __table_args__ = (
        Unique("clinic_id", "kind", "cliniko_id"),
        Index("ix_sync_record_clinic_state", "clinic_id", "kind", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    cliniko_id: Mapped[str] = mapped_column(String(64))
    reckon_id: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(200), default="")  # e.g. CLINIKO-INV-1042
    label: Mapped[str] = mapped_column(String(200), default="")
    pushed_hash: Mapped[str] = mapped_column(String(64), default="")
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set just before a create is sent: if we crash before `reckon_id` is saved, the next attempt
    # looks the record up by its reference instead of creating a second one.
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=SyncState.PENDING)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncClaim(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """Records a sync is about to create in Reckon, committed once for many of them: while a
    claim exists, its records may have reached Reckon, so a later run that finds one (its run
    died) looks them up by reference before it creates any. `refs` are "kind:cliniko id"."""

    __tablename__ = "sync_claim"
    __table_args__ = (Index("ix_sync_claim_clinic", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncWatermark(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """The newest Cliniko `updated_at` fully handled, per entity, for incremental runs."""

    __tablename__ = "sync_watermark"
    __table_args__ = (Unique("clinic_id", "entity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    value: Mapped[datetime] = mapped_column(UTCDateTime())


class MismatchReport(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One comparison of Cliniko and Reckon for a period, with totals by tax code and month."""

    __tablename__ = "mismatch_report"
    __table_args__ = (Index("ix_mismatch_report_clinic_id", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    resolved_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    run: Mapped[JobRun | None] = relationship()


class MismatchLine(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One variance; unresolved lines are re-checked (carried over) by the next report."""

    __tablename__ = "mismatch_line"
    __table_args__ = (Index("ix_mismatch_line_report", "report_id", "resolved"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("mismatch_report.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200), default="")
    cliniko_id: Mapped[str | None] = mapped_column(String(64))
    reckon_id: Mapped[str | None] = mapped_column(String(64))
    issue_date: Mapped[date | None] = mapped_column(Date)
    cliniko_value: Mapped[str] = mapped_column(String(64), default="")
    reckon_value: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountingSchedule(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """Run the sync or the report daily or weekly at a local time in the clinic's time zone, or
    (the sync) every few minutes: "keep in sync"."""

    __tablename__ = "accounting_schedule"
    __table_args__ = (Unique("clinic_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # a job kind name
    frequency: Mapped[str] = mapped_column(String(8), default="daily")  # daily|weekly|minutes
    every_minutes: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday = 0, for weekly
    local_time: Mapped[str] = mapped_column(String(5), default="02:00")  # HH:MM
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))

    last_run: Mapped[JobRun | None] = relationship()
