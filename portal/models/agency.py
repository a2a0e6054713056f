"""Agencies and the clinics they support."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .types import UTCDateTime, utcnow


class Agency(db.Model):  # type: ignore[name-defined]
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    clinics: Mapped[list[Clinic]] = relationship(
        back_populates="agency", order_by="Clinic.name", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<Agency {self.slug}>"


class Clinic(db.Model):  # type: ignore[name-defined]
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The clinic's handle in every clinic-scoped URL: /c/<slug>/...
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Australia/Sydney")
    # Vouchers expiring within this many days are a problem to act on (the dashboard's "soon").
    expiry_window_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="clinics")

    def __repr__(self) -> str:
        return f"<Clinic {self.slug}>"
