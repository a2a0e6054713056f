"""Problems: what needs someone's attention in a clinic, one record per problem (Sentry's issues),
and the alert settings and mailings that tell people about them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .agency import Agency, Clinic
from .owned import ClinicOwned
from .types import UTCDateTime, utcnow
from .user import User


class ProblemState(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """Ordered most urgent first; critical ones are mailed at once by default."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertMode(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


class Problem(ClinicOwned, db.Model):  # type: ignore[name-defined]
    """One problem of one clinic, keyed by a stable fingerprint of (clinic, family, subject): seeing
    it again updates this row (last seen, count); a resolved one seen again re-opens as a
    regression. `generation` moves on whenever it (re-)opens or grows more severe, so alerts are
    sent at most once per person and generation."""

    __tablename__ = "problem"
    __table_args__ = (
        Index("ix_problem_agency_state", "agency_id", "state"),
        Index("ix_problem_clinic_state", "clinic_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")  # path of the page that fixes it
    state: Mapped[str] = mapped_column(String(16), default=ProblemState.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When it last opened or re-opened (its age in the inbox, and what a digest calls new).
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    regression: Mapped[bool] = mapped_column(Boolean, default=False)
    generation: Mapped[int] = mapped_column(Integer, default=1)

    agency: Mapped[Agency] = relationship()
    clinic: Mapped[Clinic] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    def __repr__(self) -> str:
        return f"<Problem {self.kind} {self.state} clinic={self.clinic_id}>"


class AlertPreference(db.Model):  # type: ignore[name-defined]
    """How one person hears about problems: a mode per severity, optional modes per kind, and the
    local time of their daily digest. Made with the role's defaults the first time alerts look."""

    __tablename__ = "alert_preference"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Australia/Sydney")
    digest_time: Mapped[str] = mapped_column(String(5), default="08:00")  # HH:MM, local
    critical_mode: Mapped[str] = mapped_column(String(16), default=AlertMode.IMMEDIATE)
    warning_mode: Mapped[str] = mapped_column(String(16), default=AlertMode.DIGEST)
    info_mode: Mapped[str] = mapped_column(String(16), default=AlertMode.DIGEST)
    kind_modes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # kind → mode
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class ProblemMailing(db.Model):  # type: ignore[name-defined]
    """A problem's generation mailed to a person (at once or in a digest): never twice."""

    __tablename__ = "problem_mailing"
    __table_args__ = (UniqueConstraint("problem_id", "user_id", "generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # immediate | digest
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
