"""Gift vouchers as the portal knows them across VaocherApp, Cliniko and Reckon."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .owned import ClinicOwned
from .types import UTCDateTime, utcnow


class VoucherEventKind(StrEnum):
    """Steps of a voucher's life, in the order they usually happen."""

    PURCHASED = "purchased"
    PROVISIONED = "provisioned"
    PROVISION_FAILED = "provision_failed"
    USED_ON_INVOICE = "used_on_invoice"
    REDEEMED = "redeemed"
    ARCHIVED = "billable_item_archived"
    PRICE_UPDATED = "billable_item_price_updated"
    UPDATED = "updated"


class Voucher(ClinicOwned, db.Model):  # type: ignore[name-defined]
    __tablename__ = "voucher"
    __table_args__ = (
        UniqueConstraint("clinic_id", "code"),
        Index("ix_voucher_clinic_status", "clinic_id", "status"),
        Index("ix_voucher_clinic_expiry", "clinic_id", "expires_at"),
        Index("ix_voucher_clinic_patient", "clinic_id", "cliniko_patient_id"),
        Index("ix_voucher_clinic_purchased", "clinic_id", "purchased_at"),
        Index("ix_voucher_clinic_updated", "clinic_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    vaocher_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    value_cents: Mapped[int] = mapped_column(Integer, default=0)  # original value
    balance_cents: Mapped[int] = mapped_column(Integer, default=0)  # remaining in VaocherApp
    # What Cliniko invoices have used so far (from reconciliation), to spot unredeemed use.
    cliniko_used_cents: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purchaser_name: Mapped[str] = mapped_column(String(200), default="")
    purchaser_email: Mapped[str] = mapped_column(String(254), default="")
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_email: Mapped[str] = mapped_column(String(254), default="")
    order_ref: Mapped[str] = mapped_column(String(64), default="")
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    purchased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    vaocher_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cliniko_patient_id: Mapped[str | None] = mapped_column(String(32))
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_email: Mapped[str] = mapped_column(String(254), default="")
    cliniko_billable_item_id: Mapped[str | None] = mapped_column(String(32))
    billable_item_archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Lower-cased code, names and emails, so one indexed-free LIKE serves the active search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    events: Mapped[list[VoucherEvent]] = relationship(
        back_populates="voucher",
        order_by="(VoucherEvent.at, VoucherEvent.id)",  # steps at one instant: as written
        cascade="all, delete-orphan",
    )
    search_terms: Mapped[list[VoucherSearchTerm]] = relationship(cascade="all, delete-orphan")

    @property
    def is_provisioned(self) -> bool:
        return bool(self.cliniko_patient_id and self.cliniko_billable_item_id)

    def refresh_search_text(self) -> None:
        """Keep the words a person may search by (see VoucherSearchTerm) in step with the record."""
        parts = [
            self.code,
            self.purchaser_name,
            self.purchaser_email,
            self.recipient_name,
            self.recipient_email,
            self.patient_name,
            self.patient_email,
        ]
        text = " ".join(p for p in parts if p).lower()
        if text == self.search_text and self.id is not None:
            return  # the terms are made from the text: unchanged text, unchanged terms
        self.search_text = text
        wanted = search_terms(self.search_text)
        if {t.term for t in self.search_terms} != wanted:
            self.search_terms = [
                VoucherSearchTerm(clinic_id=self.clinic_id, term=t) for t in sorted(wanted)
            ]

    def __repr__(self) -> str:
        return f"<Voucher {self.code} {self.status} {self.balance_cents}>"


# Codes are matched without regard to case (staff type them into Cliniko): this index serves
# `upper(code) = ?` within a clinic on SQLite and PostgreSQL alike.
Index("ix_voucher_clinic_code_upper", Voucher.clinic_id, func.upper(Voucher.code))

TERM_PATTERN = re.compile(r"[a-z0-9]+")
# Binary ordering, so "terms starting with q" is one index range on PostgreSQL as on SQLite.
TermType = String(64).with_variant(String(64, collation="C"), "postgresql")


def search_terms(text: str) -> set[str]:
    """The words of `text` (lower-case letters and digits), plus whole codes and emails."""
    words = set(TERM_PATTERN.findall(text.lower()))
    words |= {w for w in text.lower().split() if "@" in w or "-" in w}
    return {w[:64] for w in words if w}


class VoucherSearchTerm(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One searchable word of a voucher; prefix matches on these are index range scans, which
    keeps the active search fast at 100k vouchers where LIKE '%q%' would scan every row."""

    __tablename__ = "voucher_search_term"
    __table_args__ = (Index("ix_voucher_search_term_clinic_term", "clinic_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"), index=True)
    term: Mapped[str] = mapped_column(TermType)


class VoucherEvent(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One step on a voucher's timeline, with the run that did it when a job did."""

    __tablename__ = "voucher_event"
    __table_args__ = (
        Index("ix_voucher_event_voucher_at", "voucher_id", "at"),
        Index("ix_voucher_event_clinic_id", "clinic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    voucher: Mapped[Voucher] = relationship(back_populates="events")


class WebhookDelivery(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """Every signed webhook VaocherApp delivered, kept as received; duplicates share a digest."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("clinic_id", "digest"),
        Index("ix_webhook_delivery_clinic_id", "clinic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the raw body
    event: Mapped[str] = mapped_column(String(64), default="")
    voucher_code: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
