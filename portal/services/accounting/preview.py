"""The reviewed first sync: a preview (dry run) lists what the sync would write, a person
approves it, and only then may anything be written to the clinic's Reckon book."""

from __future__ import annotations

from portal.extensions import db
from portal.models import AccountingPreview, Clinic, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.accounting.setup import first_sync_approved, settings_for, settings_to_show
from portal.services.accounting.sync import Plan
from portal.services.audit import record_event
from portal.tenancy import owned

ACTION_WORDS = {
    "create": "create",
    "update": "update",
    "match": "match to an existing customer",
    "retire": "make inactive",
    "credit": "credit (customer credit note)",
    "write off": "write off (credit note to bad debts)",
    "reverse": "reverse (credit note)",
    "apply credit": "apply customer credit",
    "post sale": "post the sale",
    "release": "release to breakage income",
}


def new_preview(clinic: Clinic, run_id: int) -> AccountingPreview:
    row = AccountingPreview(clinic_id=clinic.id, run_id=run_id, summary={})
    db.session.add(row)
    db.session.flush()
    return row


def finish_preview(preview: AccountingPreview, plan: Plan, ok: bool) -> None:
    preview.summary = plan.summary()
    preview.status = "ready" if ok else "failed"
    db.session.flush()


def latest_preview(clinic: Clinic) -> AccountingPreview | None:
    stmt = owned(AccountingPreview, clinic).order_by(AccountingPreview.id.desc()).limit(1)
    return db.session.scalar(stmt)


def approve_preview(clinic: Clinic, actor: User, preview: AccountingPreview) -> None:
    """Let syncs write to Reckon from now on (scheduled ones too)."""
    if preview.status != "ready":
        raise DomainError("Only a finished preview can be approved.")
    latest = latest_preview(clinic)
    if latest is not None and latest.id != preview.id:
        raise DomainError("A newer preview exists: review and approve that one.")
    settings = settings_for(clinic)
    settings.approved_preview_id = preview.id
    settings.approved_at = utcnow()
    settings.approved_by_id = actor.id
    db.session.flush()
    record_event("accounting.preview_approved", actor, clinic=clinic, target=str(preview.id))


def sync_allowed(clinic: Clinic) -> bool:
    """Scheduled syncs skip a clinic whose first preview is not approved."""
    return first_sync_approved(settings_to_show(clinic))


def described(action: str) -> tuple[str, str]:
    """ "invoice create" → ("invoice", "create")."""
    kind, _, verb = action.partition(" ")
    return kind.replace("_", " "), ACTION_WORDS.get(verb, verb)
