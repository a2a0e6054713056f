"""SQLAlchemy models, one module per aggregate."""

from .agency import Agency, Clinic
from .audit import AuditEvent
from .job import ItemOutcome, JobItem, JobRun, JobStatus, RetryMode
from .user import LoginAttempt, Membership, Role, User

__all__ = [
    "Agency",
    "AuditEvent",
    "Clinic",
    "ItemOutcome",
    "JobItem",
    "JobRun",
    "JobStatus",
    "LoginAttempt",
    "Membership",
    "RetryMode",
    "Role",
    "User",
]
