"""People who sign in, what they may do where, and sign-in attempts for throttling."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .agency import Agency, Clinic
from .types import UTCDateTime, utcnow


class Role(StrEnum):
    AGENCY_ADMIN = "agency_admin"
    AGENCY_STAFF = "agency_staff"
    CLINIC_MANAGER = "clinic_manager"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.AGENCY_ADMIN: "Agency admin",
    Role.AGENCY_STAFF: "Agency staff",
    Role.CLINIC_MANAGER: "Clinic manager",
    Role.VIEWER: "Viewer",
}


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Empty until the person sets one (a first admin made by `flask create-admin`): no password
    # matches it, and the link they are sent sets it.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every session's user id: bumping it ends all of the person's sessions at once
    # (sign out everywhere, a new password, deactivation).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # Two-step sign-in (TOTP, agency admins): the shared secret, encrypted like upstream
    # credentials; and the last time step accepted, so a code cannot be used twice.
    totp_sealed_secret: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    # In the order they were given (the account page and the people list show them so).
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Membership.id",
    )

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def uses_totp(self) -> bool:
        return bool(self.totp_sealed_secret)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    def end_sessions(self) -> None:
        """Every session signed in as this person stops working at its next request."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(db.Model):  # type: ignore[name-defined]
    """A role in an agency: admins have no clinic (so all of them); other roles name one clinic."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "agency_id", "clinic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    agency: Mapped[Agency] = relationship()
    clinic: Mapped[Clinic | None] = relationship()


class LoginAttempt(db.Model):  # type: ignore[name-defined]
    """Every sign-in attempt, kept so repeated failures can be throttled across web processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
