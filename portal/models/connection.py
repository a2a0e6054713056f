"""A clinic's link to one upstream account: sealed credentials, non-secret details, health."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .agency import Clinic
from .owned import ClinicOwned
from .types import UTCDateTime, utcnow


class Provider(StrEnum):
    CLINIKO = "cliniko"
    VAOCHERAPP = "vaocherapp"
    RECKON = "reckon"

    @property
    def label(self) -> str:
        return {"cliniko": "Cliniko", "vaocherapp": "VaocherApp", "reckon": "Reckon One"}[self]


class ConnectionStatus(StrEnum):
    NOT_LINKED = "not_linked"
    OK = "ok"
    FAILING = "failing"
    RECONNECT_NEEDED = "reconnect_needed"

    @property
    def label(self) -> str:
        return self.replace("_", " ").capitalize()


class Connection(ClinicOwned, db.Model):  # type: ignore[name-defined]
    __tablename__ = "connection"
    __table_args__ = (
        UniqueConstraint("clinic_id", "provider"),
        Index("ix_connection_clinic_id", "clinic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default=ConnectionStatus.NOT_LINKED)
    # Fernet ciphertext of a JSON dict (api_key / webhook_secret / tokens); never rendered.
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    key_hint: Mapped[str] = mapped_column(String(8), default="")  # last four characters
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # nothing secret here
    # The unguessable part of this clinic's VaocherApp webhook URL.
    webhook_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    clinic: Mapped[Clinic] = relationship()

    @property
    def is_linked(self) -> bool:
        return self.status != ConnectionStatus.NOT_LINKED

    def detail(self, name: str, default: Any = None) -> Any:
        return (self.details or {}).get(name, default)
