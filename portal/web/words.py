"""What pages call the states and kinds stored as identifiers (`needs_action`, `partial`): one
table, so every page says the same words. `{{ run.status|state_label("run") }}`."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "run": {
        "queued": "Waiting to start",
        "running": "Running",
        "succeeded": "Succeeded",
        "partial": "Partly failed",
        "failed": "Failed",
        "cancelled": "Cancelled",
        "interrupted": "Interrupted",
    },
    "outcome": {"ok": "Done", "skipped": "Skipped", "failed": "Failed"},
    "batch": {
        "needs_mapping": "Needs its columns chosen",
        "planning": "Planning",
        "planned": "Planned: waiting for approval",
        "applying": "Applying",
        "applied": "Applied",
        "failed": "Failed",
        "out_of_date": "Out of date: re-plan",
    },
    "row_outcome": {"redeemed": "Redeemed", "skipped": "Skipped", "failed": "Failed"},
    "voucher": {
        "active": "Active",
        "redeemed": "Redeemed",
        "voided": "Voided",
        "void": "Voided",
        "expired": "Expired",
        "cancelled": "Cancelled",
    },
    "connection": {
        "not_linked": "Not linked",
        "ok": "Working",
        "failing": "Failing",
        "reconnect_needed": "Reconnect needed",
    },
    "problem": {
        "open": "Open",
        "assigned": "Assigned",
        "snoozed": "Snoozed",
        "resolved": "Resolved",
    },
    "severity": {"critical": "Critical", "warning": "Warning", "info": "Information"},
    "sync": {
        "pending": "Waiting to be sent",
        "synced": "In Reckon",
        "failed": "Refused by Reckon",
        "needs_action": "Needs action",
        "needs_decision": "Needs a decision",
    },
    "record": {
        "item": "Items",
        "customer": "Customers",
        "invoice": "Invoices",
        "payment": "Payments",
        "voucher_sale": "Voucher sales",
        "breakage": "Expired voucher balances",
        "credit_note": "Credit notes",
        "credit_link": "Credit applied",
        "party": "Portal customers",
    },
    "preview": {"running": "Running", "ready": "Ready to review", "failed": "Failed"},
    "report": {"running": "Running", "done": "Finished", "failed": "Failed"},
    "frequency": {"daily": "Daily", "weekly": "Weekly"},
    "schedule": {"accounting.sync": "Sync", "accounting.report": "Mismatch report"},
    "event": {
        "purchased": "Purchased",
        "provisioned": "Provisioned in Cliniko",
        "provision_failed": "Provisioning failed",
        "used_on_invoice": "Used on an invoice",
        "redeemed": "Redeemed",
        "billable_item_archived": "Billable item archived",
        "billable_item_price_updated": "Billable item re-priced",
        "updated": "Updated",
    },
    "mode": {"immediate": "Immediately", "digest": "In the daily digest", "off": "Off"},
}


def state_label(value: object, family: str) -> str:
    """The words for a stored identifier; an unknown one is made readable rather than shown raw."""
    text = "" if value is None else str(value)
    known = WORDS.get(family, {}).get(text)
    if known is not None:
        return known
    return text.replace("_", " ").replace(".", " ").capitalize()
