"""Background job runs and the outcome of every item they processed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .agency import Clinic
from .owned import ClinicOwned
from .types import UTCDateTime, utcnow
from .user import User


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


LIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class ItemOutcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


class RetryMode(StrEnum):
    FAILED = "failed"  # only the items that failed in the parent run
    UNFINISHED = "unfinished"  # everything not yet done (ok or skipped) in earlier runs


_ACTIVE = "status IN ('queued', 'running')"


def _kind_as_title(context: Any) -> str:
    """A run made without a title (by hand, in tests) is shown by its kind's name."""
    return str(context.get_current_parameters()["kind"])


class JobRun(ClinicOwned, db.Model):  # type: ignore[name-defined]
    __tablename__ = "job_run"
    __table_args__ = (
        # The database itself refuses a second live run of one kind in one clinic.
        Index(
            "uq_job_run_one_active",
            "clinic_id",
            "kind",
            unique=True,
            sqlite_where=text(_ACTIVE),
            postgresql_where=text(_ACTIVE),
        ),
        Index("ix_job_run_clinic_created", "clinic_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(64))
    # What people call the kind, copied when the run is made, so pages need no table of kinds.
    title: Mapped[str] = mapped_column(String(128), default=_kind_as_title, server_default="")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    retry_mode: Mapped[str | None] = mapped_column(String(16))
    total: Mapped[int | None] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    ok_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    current_item: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    clinic: Mapped[Clinic] = relationship()
    user: Mapped[User | None] = relationship()
    parent: Mapped[JobRun | None] = relationship(remote_side=[id])

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def can_retry_failed(self) -> bool:
        return not self.is_live and self.failed_count > 0

    @property
    def can_resume(self) -> bool:
        return self.status in (JobStatus.INTERRUPTED, JobStatus.CANCELLED, JobStatus.FAILED)

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.kind} {self.status}>"


class JobItem(db.Model):  # type: ignore[name-defined]
    __tablename__ = "job_item"
    __table_args__ = (Index("ix_job_item_run_outcome", "run_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("job_run.id"), index=True)
    ref: Mapped[str] = mapped_column(
        String(255)
    )  # what was processed: a voucher code, an invoice id…
    label: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
