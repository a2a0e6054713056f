"""What each audit action means, in words: one table from action to a label (for the filter) and
a sentence ("Dana Admin signed in"). Every action recorded anywhere has a row here; a test reads
the source for `record_event(…)` calls and fails on one that is missing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.models import AuditEvent, Provider, Role


@dataclass(frozen=True)
class Said:
    """What an event's sentence is made of: names already looked up, never ids."""

    actor: str  # the person's name, or "The portal" for what it did by itself
    target: str
    clinic: str
    detail: dict[str, Any]
    titles: Mapping[str, str] = field(default_factory=dict)  # job kind → its title

    def get(self, key: str, default: str = "") -> str:
        value = self.detail.get(key, default)
        return default if value is None else str(value)


Sentence = Callable[[Said], str]


@dataclass(frozen=True)
class Wording:
    label: str  # short, for the action filter
    sentence: Sentence


def _provider(name: str) -> str:
    try:
        return Provider(name).label
    except ValueError:
        return name


def _role(name: str) -> str:
    try:
        return Role(name).label.lower()
    except ValueError:
        return name


def _quoted(s: Said) -> str:
    return f"“{s.get('title', s.target)}”"


def _resolved(s: Said) -> str:
    if s.detail.get("automatic"):
        return f"{_quoted(s)} resolved itself (the work succeeded later)"
    note = s.get("note")
    return f"{s.actor} resolved {_quoted(s)}" + (f": {note}" if note else "")


def _access(s: Said) -> str:
    clinics = ", ".join(s.detail.get("clinics") or []) or "all clinics"
    return f"{s.actor} made {s.target} {_role(s.get('role'))} ({clinics})"


def _invite(s: Said) -> str:
    clinics = ", ".join(s.detail.get("clinics") or []) or "all clinics"
    return f"{s.actor} invited {s.target} as {_role(s.get('role'))} ({clinics})"


def _dollars(s: Said) -> str:
    cents = s.detail.get("amount_cents")
    return f" (${int(cents) / 100:,.2f})" if isinstance(cents, int) else ""


def _sign_out_everywhere(s: Said) -> str:
    return f"{s.actor} signed {s.target} out everywhere"


ACTIONS: dict[str, Wording] = {
    # People and signing in
    "user.sign_in": Wording("Signed in", lambda s: f"{s.actor} signed in"),
    "user.sign_out": Wording("Signed out", lambda s: f"{s.actor} signed out"),
    "user.sign_out_everywhere": Wording("Signed out everywhere", _sign_out_everywhere),
    "user.add": Wording("Person added", lambda s: f"{s.actor} added {s.target}"),
    "user.invite": Wording("Person invited", _invite),
    "user.invite_resend": Wording(
        "Invitation sent again", lambda s: f"{s.actor} sent {s.target}'s invitation again"
    ),
    "user.invite_revoke": Wording(
        "Invitation revoked", lambda s: f"{s.actor} revoked the invitation to {s.target}"
    ),
    "user.accept_invitation": Wording(
        "Invitation accepted", lambda s: f"{s.actor} accepted their invitation and joined"
    ),
    "user.create_admin": Wording(
        "First admin created",
        lambda s: f"{s.target} was made an agency admin from the command line",
    ),
    "user.set_access": Wording("Access changed", _access),
    "user.remove": Wording(
        "Person removed", lambda s: f"{s.actor} removed {s.target} from the agency"
    ),
    "user.deactivate": Wording("Deactivated", lambda s: f"{s.actor} deactivated {s.target}"),
    "user.reactivate": Wording("Reactivated", lambda s: f"{s.actor} reactivated {s.target}"),
    "user.change_password": Wording(
        "Password changed", lambda s: f"{s.actor} changed their password"
    ),
    "user.reset_requested": Wording(
        "Password reset asked for", lambda s: f"{s.actor} asked for a password reset link"
    ),
    "user.reset_password": Wording(
        "Password reset", lambda s: f"{s.actor} set a new password from a reset link"
    ),
    "user.set_password": Wording(
        "Password set", lambda s: f"{s.actor} set their first password from their link"
    ),
    "user.totp_enable": Wording(
        "Two-step sign-in on", lambda s: f"{s.actor} turned on two-step sign-in"
    ),
    "user.totp_disable": Wording(
        "Two-step sign-in off", lambda s: f"{s.actor} turned off two-step sign-in"
    ),
    "user.totp_reset": Wording(
        "Two-step sign-in reset",
        lambda s: f"Two-step sign-in of {s.target} was turned off from the command line",
    ),
    "alerts.settings": Wording(
        "Alert settings", lambda s: f"{s.actor} changed their alert settings"
    ),
    # The agency and its clinics
    "agency.create": Wording(
        "Agency created", lambda s: f"The agency {s.target} was created from the command line"
    ),
    "clinic.add": Wording(
        "Clinic added",
        lambda s: (
            f"{s.actor} added the clinic {s.target} (/c/{s.get('slug')}/, {s.get('timezone')})"
        ),
    ),
    "clinic.expiry_window": Wording(
        "Expiry window",
        lambda s: f"{s.actor} set {s.clinic}'s expiring-voucher window to {s.get('to')} days",
    ),
    "clinic.timezone": Wording(
        "Time zone", lambda s: f"{s.actor} set {s.clinic}'s time zone to {s.target}"
    ),
    # Connections and webhooks
    "connection.link": Wording(
        "Linked", lambda s: f"{s.actor} linked {_provider(s.target)} for {s.clinic}"
    ),
    "connection.unlink": Wording(
        "Unlinked", lambda s: f"{s.actor} unlinked {_provider(s.target)} from {s.clinic}"
    ),
    "connection.authorize": Wording(
        "Reckon access granted", lambda s: f"{s.actor} allowed {s.clinic} access to Reckon One"
    ),
    "connection.oauth_denied": Wording(
        "Reckon access declined", lambda s: f"{s.actor} declined access in Reckon One"
    ),
    "connection.oauth_state_mismatch": Wording(
        "Reckon sign-in refused",
        lambda s: (
            f"A Reckon One sign-in for {s.actor} came back with a wrong state and was refused"
        ),
    ),
    "connection.rotate_webhook_secret": Wording(
        "Webhook secret renewed",
        lambda s: f"{s.actor} made a new VaocherApp webhook secret for {s.clinic}",
    ),
    "webhook.bad_signature": Wording(
        "Webhook refused",
        lambda s: (
            f"A VaocherApp webhook for {s.clinic} was refused: "
            + ("its signature was wrong" if s.detail.get("has_signature") else "it was not signed")
        ),
    ),
    # Jobs
    "job.start": Wording(
        "Run started",
        lambda s: f"{s.actor} started {s.titles.get(s.get('kind'), s.get('kind'))} ({s.target})",
    ),
    "job.cancel": Wording("Run cancelled", lambda s: f"{s.actor} cancelled {s.target}"),
    # Problems
    "problem.open": Wording("Problem opened", lambda s: f"Problem opened: {_quoted(s)}"),
    "problem.reopen": Wording(
        "Problem re-opened", lambda s: f"{_quoted(s)} happened again and re-opened"
    ),
    "problem.assign": Wording(
        "Problem assigned",
        lambda s: f"{s.actor} assigned {_quoted(s)} to {s.get('assignee') or 'nobody'}",
    ),
    "problem.snooze": Wording(
        "Problem snoozed",
        lambda s: (
            f"{s.actor} snoozed {_quoted(s)} until {s.get('until')[:16].replace('T', ' ')} UTC"
        ),
    ),
    "problem.wake": Wording("Snooze ended", lambda s: f"{_quoted(s)} is back after its snooze"),
    "problem.resolve": Wording("Problem resolved", _resolved),
    # Vouchers and reconciliation
    "voucher.mark_redeemed": Wording(
        "Voucher redeemed",
        lambda s: f"{s.actor} marked voucher {s.target} redeemed in VaocherApp{_dollars(s)}",
    ),
    "reconciliation.upload": Wording(
        "Export uploaded",
        lambda s: f"{s.actor} uploaded {s.get('filename', 'an export')} for reconciliation",
    ),
    "reconciliation.approve": Wording(
        "Plan approved", lambda s: f"{s.actor} approved the reconciliation plan ({s.target})"
    ),
    "reconciliation.replan": Wording(
        "Plan re-made", lambda s: f"{s.actor} re-planned the reconciliation ({s.target})"
    ),
    "reconciliation.decide_row": Wording(
        "Row decided",
        lambda s: (
            f"{s.actor} chose to {s.get('decision')} row {s.get('row')} ({s.target})"
            + (f": {s.get('note')}" if s.get("note") else "")
        ),
    ),
    # Accounting
    "accounting.settings": Wording(
        "Accounting settings", lambda s: f"{s.actor} saved {s.clinic}'s accounting settings"
    ),
    "accounting.schedule": Wording(
        "Schedule changed",
        lambda s: (
            f"{s.actor} set the {s.target} schedule: "
            + (f"{s.get('frequency')} at {s.get('time')}" if s.detail.get("enabled") else "off")
        ),
    ),
    "accounting.preview_approved": Wording(
        "Preview approved",
        lambda s: f"{s.actor} approved {s.clinic}'s accounting preview: syncs may now write",
    ),
    "accounting.customer_decision": Wording(
        "Customer decided",
        lambda s: f"{s.actor} decided patient {s.target}: {s.get('choice')}",
    ),
}

# Each action's area (by the part before the dot): (filter value, heading).
AREAS: dict[str, tuple[str, str]] = {
    "user": ("people", "People and sign-ins"),
    "alerts": ("people", "People and sign-ins"),
    "agency": ("agency", "Agency and clinics"),
    "clinic": ("agency", "Agency and clinics"),
    "connection": ("connections", "Connections"),
    "webhook": ("connections", "Connections"),
    "job": ("jobs", "Jobs"),
    "problem": ("problems", "Problems"),
    "voucher": ("vouchers", "Vouchers and reconciliation"),
    "reconciliation": ("vouchers", "Vouchers and reconciliation"),
    "accounting": ("accounting", "Accounting"),
}


def describe(
    event: AuditEvent, actor: str, clinic: str, titles: Mapping[str, str] | None = None
) -> str:
    """The event as a sentence: "Dana Admin signed in"."""
    said = Said(actor, event.target or "", clinic, event.detail or {}, titles or {})
    wording = ACTIONS.get(event.action)
    if wording is None:  # recorded by code newer than this table: still readable
        return f"{actor}: {event.action}" + (f" ({event.target})" if event.target else "")
    return wording.sentence(said)


def area_prefixes(area: str) -> list[str]:
    """The action prefixes ("user.", "alerts.") of an area's filter value ("people")."""
    return [f"{prefix}." for prefix, (value, _) in AREAS.items() if value == area]


def action_choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(area value, heading, [(action, label)]) for the filter, in table order."""
    grouped: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for action, wording in ACTIONS.items():
        value, heading = AREAS[action.split(".")[0]]
        grouped.setdefault(value, (heading, []))[1].append((action, wording.label))
    return [(value, heading, actions) for value, (heading, actions) in grouped.items()]
