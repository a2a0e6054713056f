"""SQLAlchemy models, one module per aggregate."""

from .accounting import (
    AccountingPreview,
    AccountingSchedule,
    AccountingSettings,
    CustomerScope,
    EntityKind,
    LiabilityCheck,
    MismatchLine,
    MismatchReport,
    SyncClaim,
    SyncRecord,
    SyncState,
    SyncWatermark,
)
from .agency import Agency, Clinic
from .audit import AuditEvent
from .connection import Connection, ConnectionStatus, Provider
from .invitation import Invitation, InvitationState
from .job import ItemOutcome, JobItem, JobRun, JobStatus, RetryMode
from .owned import ClinicOwned
from .problem import (
    AlertMode,
    AlertPreference,
    Problem,
    ProblemMailing,
    ProblemState,
    Severity,
)
from .reconciliation import (
    ExportColumnMapping,
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
)
from .user import LoginAttempt, Membership, Role, User
from .voucher import Voucher, VoucherEvent, VoucherEventKind, WebhookDelivery

__all__ = [
    "AccountingPreview",
    "AccountingSchedule",
    "AccountingSettings",
    "Agency",
    "AlertMode",
    "AlertPreference",
    "AuditEvent",
    "Clinic",
    "ClinicOwned",
    "Connection",
    "ConnectionStatus",
    "CustomerScope",
    "EntityKind",
    "ExportColumnMapping",
    "Invitation",
    "InvitationState",
    "ItemOutcome",
    "JobItem",
    "JobRun",
    "JobStatus",
    "LiabilityCheck",
    "LoginAttempt",
    "Membership",
    "MismatchLine",
    "MismatchReport",
    "Problem",
    "ProblemMailing",
    "ProblemState",
    "Provider",
    "ReconciliationBatch",
    "ReconciliationLedger",
    "ReconciliationRow",
    "RetryMode",
    "Role",
    "Severity",
    "SyncClaim",
    "SyncRecord",
    "SyncState",
    "SyncWatermark",
    "User",
    "Voucher",
    "VoucherEvent",
    "VoucherEventKind",
    "WebhookDelivery",
]
