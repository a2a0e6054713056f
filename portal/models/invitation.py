"""Invitations: an agency admin asks a person by email to join the agency in a role."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .agency import Agency
from .types import UTCDateTime, utcnow
from .user import User


class InvitationState(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(db.Model):  # type: ignore[name-defined]
    """One per agency and email while pending (inviting again updates it). The link carries the
    id and `nonce` signed; a new nonce (resend) retires the links sent before."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_agency_email", "agency_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))  # as the admin typed it; never an account's
    role: Mapped[str] = mapped_column(String(32))
    clinic_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    nonce: Mapped[str] = mapped_column(String(64))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agency: Mapped[Agency] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def state(self, now: datetime | None = None) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires_at <= (now or utcnow()):
            return InvitationState.EXPIRED
        return InvitationState.PENDING
