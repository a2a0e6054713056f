"""SQLAlchemy models, one module per aggregate."""

from .agency import Agency, Clinic
from .audit import AuditEvent
from .connection import Connection, ConnectionStatus, Provider
from .job import ItemOutcome, JobItem, JobRun, JobStatus, RetryMode
from .reconciliation import (
    ExportColumnMapping,
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
)
from .user import LoginAttempt, Membership, Role, User
from .voucher import Voucher, VoucherEvent, VoucherEventKind, WebhookDelivery

__all__ = [
    "Agency",
    "AuditEvent",
    "Clinic",
    "Connection",
    "ConnectionStatus",
    "ExportColumnMapping",
    "ItemOutcome",
    "JobItem",
    "JobRun",
    "JobStatus",
    "LoginAttempt",
    "Membership",
    "Provider",
    "ReconciliationBatch",
    "ReconciliationLedger",
    "ReconciliationRow",
    "RetryMode",
    "Role",
    "User",
    "Voucher",
    "VoucherEvent",
    "VoucherEventKind",
    "WebhookDelivery",
]
