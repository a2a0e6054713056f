"""The kinds of problem: what each is called, how urgent it is, and which share one record."""

from __future__ import annotations

from enum import StrEnum

from portal.models import Severity


class ProblemKind(StrEnum):
    RUN_FAILED = "run_failed"
    RUN_PARTIAL = "run_partial"
    RUN_INTERRUPTED = "run_interrupted"
    CONNECTION_FAILING = "connection_failing"
    CONNECTION_RECONNECT = "connection_reconnect"
    ROWS_UNKNOWN = "reconciliation_unknown"
    ROWS_AMBIGUOUS = "reconciliation_ambiguous"
    ROWS_INVALID = "reconciliation_invalid"
    ROWS_FAILED = "reconciliation_failed"
    ACCOUNTING_ACTION = "accounting_needs_action"
    ACCOUNTING_DECISION = "accounting_needs_decision"
    MISMATCH = "mismatch_differences"
    UNREDEEMED_USE = "voucher_unredeemed_use"
    NOT_PROVISIONED = "voucher_not_provisioned"
    EXPIRING = "vouchers_expiring"
    PLAN_WAITING = "plan_awaiting_approval"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def family(self) -> str:
        """Kinds of one family share a record: a run kind's failure, then its partial run, is
        one problem that changed (one per clinic and job kind); so is a connection's."""
        if self.value.startswith("run_"):
            return "run"
        if self.value.startswith("connection_"):
            return "connection"
        return self.value


LABELS = {
    ProblemKind.RUN_FAILED: "Run failed",
    ProblemKind.RUN_PARTIAL: "Run partly failed",
    ProblemKind.RUN_INTERRUPTED: "Run interrupted",
    ProblemKind.CONNECTION_FAILING: "Connection failing",
    ProblemKind.CONNECTION_RECONNECT: "Reconnect needed",
    ProblemKind.ROWS_UNKNOWN: "Unknown voucher codes",
    ProblemKind.ROWS_AMBIGUOUS: "Ambiguous rows",
    ProblemKind.ROWS_INVALID: "Unreadable rows",
    ProblemKind.ROWS_FAILED: "Redeems failed",
    ProblemKind.ACCOUNTING_ACTION: "Invoices need action",
    ProblemKind.ACCOUNTING_DECISION: "Needs a decision",
    ProblemKind.MISMATCH: "Books differ",
    ProblemKind.UNREDEEMED_USE: "Used, not redeemed",
    ProblemKind.NOT_PROVISIONED: "Not in Cliniko",
    ProblemKind.EXPIRING: "Expiring soon",
    ProblemKind.PLAN_WAITING: "Plan awaiting approval",
}

# What each kind is unless its producer says otherwise (a failed run of a critical job kind is
# critical: see sources.CRITICAL_RUN_KINDS).
SEVERITIES = {
    ProblemKind.RUN_FAILED: Severity.WARNING,
    ProblemKind.RUN_PARTIAL: Severity.WARNING,
    ProblemKind.RUN_INTERRUPTED: Severity.WARNING,
    ProblemKind.CONNECTION_FAILING: Severity.CRITICAL,
    ProblemKind.CONNECTION_RECONNECT: Severity.CRITICAL,
    ProblemKind.ROWS_UNKNOWN: Severity.WARNING,
    ProblemKind.ROWS_AMBIGUOUS: Severity.WARNING,
    ProblemKind.ROWS_INVALID: Severity.WARNING,
    ProblemKind.ROWS_FAILED: Severity.WARNING,
    ProblemKind.ACCOUNTING_ACTION: Severity.WARNING,
    ProblemKind.ACCOUNTING_DECISION: Severity.WARNING,
    ProblemKind.MISMATCH: Severity.WARNING,
    ProblemKind.UNREDEEMED_USE: Severity.WARNING,
    ProblemKind.NOT_PROVISIONED: Severity.WARNING,
    ProblemKind.EXPIRING: Severity.INFO,
    ProblemKind.PLAN_WAITING: Severity.INFO,
}


def kind_label(kind: str) -> str:
    """A kind's label, or the stored name of a kind this version no longer knows."""
    try:
        return ProblemKind(kind).label
    except ValueError:
        return kind.replace("_", " ").capitalize()
