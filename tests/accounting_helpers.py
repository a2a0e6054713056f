"""Helpers shared by the accounting tests: configure the mapping, run jobs, read the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from portal.extensions import db
from portal.jobs.start import start_run
from portal.models import AccountingPreview, JobRun, SyncRecord, User
from portal.services.accounting.preview import approve_preview
from portal.services.accounting.setup import book_options, save_settings, settings_for

DEFAULTS = {
    "tax_service": "FRE",
    "tax_product": "GST",
    "tax_voucher": "N-T",
    "tax_overrides": {},
    "account_service": "Sales - Services",
    "account_product": "Sales - Products",
    "account_voucher": "Gift Voucher Liability",
    "clearing_account": "Cliniko Clearing",
    "payment_method": "EFTPOS",
    "customer_naming": "patient_id",
}


def configure(clinic: Any, approved: bool = True, **changes: Any) -> None:
    """Save the accounting settings (validated against the sandbox book) and, unless told not
    to, approve a (stand-in) preview so syncs may write."""
    actor = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
    settings_for(clinic)
    save_settings(clinic, actor, DEFAULTS | changes, book_options(clinic))
    if approved and settings_for(clinic).approved_preview_id is None:
        preview = AccountingPreview(clinic_id=clinic.id, status="ready", summary={})
        db.session.add(preview)
        db.session.flush()
        approve_preview(clinic, actor, preview)
    db.session.commit()


def run_job(clinic: Any, run_worker: Any, kind: str = "accounting.sync", **params: Any) -> JobRun:
    run = start_run(clinic, None, kind, params)
    run_worker()
    db.session.expire_all()
    fresh = db.session.get(JobRun, run.id)
    assert fresh is not None
    return fresh


def book(sandbox: Any, accounts: dict[str, Any]) -> Any:
    """The clinic's Reckon book inside the sandbox (in-process, for assertions)."""
    return sandbox.world.reckon.books[accounts["reckon"]["book_id"].lower()]


def cliniko_account(sandbox: Any, accounts: dict[str, Any]) -> Any:
    return sandbox.world.cliniko_by_key[accounts["cliniko"]["api_key"]]


def writes(sandbox: Any, since: int = 0) -> list[dict[str, Any]]:
    """Reckon requests that change something, from the sandbox's request log."""
    params: dict[str, str | int] = {"upstream": "reckon", "since": since}
    log = requests.get(f"{sandbox.url}/_sandbox/requests", params=params, timeout=10).json()
    log = log["requests"]
    return [r for r in log if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def last_seq(sandbox: Any) -> int:
    log = sandbox.requests_log()
    return max((r["seq"] for r in log), default=0)


def records(kind: str) -> list[SyncRecord]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(SyncRecord).where(SyncRecord.kind == kind)))


def money(value: Any) -> Decimal:
    """A decimal amount, or one the portal wrote for people ("-$1,234.50")."""
    text = str(value).replace("$", "").replace(",", "")
    return Decimal(text).quantize(Decimal("0.01"))
