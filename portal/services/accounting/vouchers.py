"""Gift vouchers in the books: each sale posted once (clearing account → voucher liability, N-T),
breakage at expiry when the clinic wants it, and the liability compared with VaocherApp.

A face-value voucher carries no GST when sold: GST falls on the supply it is used for, which the
invoice's own lines carry. Redemptions debit the liability through the one voucher item on the
invoice (see `invoices`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal.clients.errors import UpstreamError
from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import (
    Clinic,
    EntityKind,
    LiabilityCheck,
    Provider,
    SyncRecord,
    SyncState,
    Voucher,
)
from portal.models.types import utcnow
from portal.services import DomainError, UpstreamFailed
from portal.services.accounting import map as m
from portal.services.accounting.invoices import REVERSAL
from portal.services.accounting.push import Later, Push, Unchanged
from portal.services.accounting.sync import SyncEnv, id_of
from portal.services.connections.records import connection_or_none
from portal.services.vouchers.records import remote_vouchers
from portal.tenancy import owned

ZERO = Decimal(0)
SALES_CUSTOMER = "VaocherApp gift voucher sales"  # the one customer voucher sales are made to
VOIDED, EXPIRED, ACTIVE = "voided", "expired", "active"


def vouchers_to_post(clinic: Clinic) -> list[Voucher]:
    """Every live voucher the portal knows (by webhook or import), oldest sale first (undated
    ones first, as SQLite sorts NULLs; PostgreSQL would put them last)."""
    oldest = (Voucher.purchased_at.asc().nulls_first(), Voucher.id)
    stmt = owned(Voucher, clinic).where(~Voucher.test_mode).order_by(*oldest)
    return list(db.session.scalars(stmt))


def _expired(voucher: Voucher, now: datetime) -> bool:
    return voucher.status == EXPIRED or bool(voucher.expires_at and voucher.expires_at <= now)


def sales_customer(env: SyncEnv) -> str:
    """The Reckon customer voucher sales are receipted from (found by name, else created)."""
    rec = env.record(EntityKind.PARTY, "vaocherapp", label=SALES_CUSTOMER)
    if rec.reckon_id and rec.state == SyncState.SYNCED:
        return rec.reckon_id
    book = env.book_id
    push = Push(
        {"name": SALES_CUSTOMER},
        find=lambda: id_of(env.reckon.find_customer_by_name(book, SALES_CUSTOMER)),
        create=lambda: env.reckon.create_customer(
            book, SALES_CUSTOMER, notes="Gift vouchers sold through VaocherApp"
        ),
    )
    rec.attempted_at = rec.attempted_at or utcnow()  # a same-named customer is ours to use
    env.push(rec, push)
    return rec.reckon_id or ""


def sync_voucher_sale(env: SyncEnv, voucher: Voucher) -> str | Later:
    """One VaocherApp sale → a receipt into the voucher clearing account coded to the liability,
    dated the purchase date in the clinic's zone, whatever the sync's "from" date."""
    rec = env.record(EntityKind.VOUCHER_SALE, voucher.code, label=f"Voucher {voucher.code} sale")
    if voucher.status == VOIDED and not rec.reckon_id:
        if rec.state != SyncState.SYNCED:  # nothing owed, nothing to send: not "unsent" either
            rec.state, rec.message, rec.details = SyncState.SYNCED, "", {"voided": True}
        raise Unchanged("Voided in VaocherApp before its sale was posted: nothing to post.")
    sold = env.local_date(voucher.purchased_at or voucher.created_at)
    amount = m.cents(Decimal(voucher.value_cents) / 100)
    if amount <= 0 or sold is None:
        raise DomainError("The voucher has no value or purchase date yet: refresh it.")
    settings, reference = env.settings, m.VOUCHER_SALE_REFERENCE.format(code=voucher.code)
    rec.reference = reference
    rec.details = {"amount": str(amount), "date": str(sold)}
    line = {
        "accountDetails": {"ledgerAccount": settings.account_voucher, "amount": amount},
        "taxRate": settings.tax_voucher,
        "description": f"Gift voucher {voucher.code} sold",
    }
    body = {"amount": str(amount), "date": str(sold), "account": settings.voucher_clearing_account}
    if rec.reckon_id and rec.pushed_hash and rec.pushed_hash != m.payload_hash(body):
        rec.state = SyncState.NEEDS_ACTION
        rec.message = "The voucher's sale changed in VaocherApp after it was posted; check it."
        raise m.NeedsAction(rec.message)
    book = env.book_id
    customer = sales_customer(env) if not rec.reckon_id else ""
    # Read now: the call may run on another thread, which must not touch a database row.
    clearing = settings.voucher_clearing_account
    notes = f"Gift voucher {voucher.code} sold in VaocherApp"

    def create() -> str:
        return env.reckon.create_receipt(
            book,
            customer,
            sold,
            amount,
            reference=reference,
            ledger_account=clearing,
            notes=notes,
            lines=[line],
        )

    push = Push(
        body,
        find=lambda: id_of(env.reckon.find_receipt_by_reference(book, reference)),
        create=create,
    )
    if env.dry and not rec.reckon_id:
        env.plan.add_lines(sold, [(settings.tax_voucher, amount)])
    return env.push_later(rec, push, "post sale")


def sync_breakage(env: SyncEnv, voucher: Voucher, remaining_cents: int) -> str:
    """An expired voucher's remaining balance moved from the liability to the breakage income
    account: a zero-total invoice to the sales customer with the two account lines (N-T)."""
    rec = env.record(EntityKind.BREAKAGE, voucher.code, label=f"Voucher {voucher.code} expired")
    amount = m.cents(Decimal(remaining_cents) / 100)
    when = env.local_date(voucher.expires_at) or utcnow().date()
    settings, reference = env.settings, m.BREAKAGE_REFERENCE.format(code=voucher.code)
    rec.reference, rec.details = reference, {"amount": str(amount), "date": str(when)}
    lines = [
        {
            "lineNumber": 1,
            "accountDetails": {"ledgerAccount": settings.breakage_account, "amount": amount},
            "taxRate": settings.tax_voucher,
            "description": f"Gift voucher {voucher.code} expired unused",
        },
        {
            "lineNumber": 2,
            "accountDetails": {"ledgerAccount": settings.account_voucher, "amount": -amount},
            "taxRate": settings.tax_voucher,
            "description": f"Gift voucher {voucher.code}: liability released",
        },
    ]
    body = {"amount": str(amount), "date": str(when)}
    book = env.book_id
    customer = sales_customer(env) if not rec.reckon_id else ""

    def create() -> str:
        new_id = env.reckon.create_invoice(
            book, customer, when, [], reference=reference, raw_lines=lines
        )
        env.approval.approve_created(new_id)
        return new_id

    def find() -> str | None:  # after a crash: created, perhaps never approved
        found = env.reckon.find_invoice_by_reference(book, reference)
        if found is not None and found.status == "Draft":
            env.reckon.update_invoice(book, found.id, status="Approved")
        return id_of(found)

    push = Push(body, find=find, create=create)
    return env.push(rec, push, "release")


def breakage_due(env: SyncEnv, vouchers: list[Voucher]) -> list[tuple[Voucher, int]]:
    """Expired vouchers with money left, when the clinic recognises breakage."""
    if not env.settings.breakage:
        return []
    now = utcnow()
    return [(v, v.balance_cents) for v in vouchers if _expired(v, now) and v.balance_cents > 0]


# ---- liability: Reckon against VaocherApp ----------------------------------------------------
@dataclass
class VoucherLine:
    code: str
    reckon: Decimal
    vaocherapp: Decimal
    message: str


def outstanding(remote: list[RemoteVoucher], breakage: bool, now: datetime) -> dict[str, Decimal]:
    """VaocherApp's outstanding balance per voucher: active ones, plus expired ones while
    breakage is off (clarifications); voided ones owe nothing."""
    out = {}
    for v in remote:
        status = (v.status or "").lower()
        expired = status == EXPIRED or bool(v.expiry and v.expiry <= now)
        counts = status != VOIDED and (not expired or not breakage)
        out[v.code] = m.cents(Decimal(v.remain_balance if counts else 0) / 100)
    return out


def reckon_by_voucher(clinic: Clinic) -> dict[str, Decimal]:
    """What the sync has put on the liability account per voucher: sales less uses (invoices
    not reversed) less breakage."""
    recs = list(
        db.session.scalars(owned(SyncRecord, clinic).where(SyncRecord.reckon_id.is_not(None)))
    )
    reversed_invoices = {
        r.details.get("invoice")
        for r in recs
        if r.kind == EntityKind.CREDIT_NOTE and (r.details or {}).get("purpose") == REVERSAL
    }
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in recs:
        if r.state != SyncState.SYNCED and r.kind != EntityKind.INVOICE:
            continue
        details = r.details or {}
        if r.kind == EntityKind.VOUCHER_SALE:
            out[r.cliniko_id] += Decimal(details.get("amount", "0"))
        elif r.kind == EntityKind.BREAKAGE:
            out[r.cliniko_id] -= Decimal(details.get("amount", "0"))
        elif r.kind == EntityKind.INVOICE and r.cliniko_id not in reversed_invoices:
            for code, used in (details.get("vouchers") or {}).items():
                out[code] -= Decimal(used)
    return dict(out)


def compare_liability(
    reckon: dict[str, Decimal],
    vaocherapp: dict[str, Decimal],
    unsent: set[str],
    sold: set[str] | None = None,
) -> list[VoucherLine]:
    """Every voucher whose liability in Reckon differs from VaocherApp, with the likely why."""
    out = []
    for code in sorted(reckon.keys() | vaocherapp.keys()):
        ours, theirs = reckon.get(code, ZERO), vaocherapp.get(code, ZERO)
        if ours == theirs:
            continue
        if code in unsent:
            why = "Its sale is not in Reckon yet (see the voucher sales needing attention)."
        elif code in vaocherapp and sold is not None and code not in sold:
            why = "Not imported into the portal, so its sale is not in Reckon: import vouchers."
        elif code not in vaocherapp:
            why = "Not in VaocherApp (a voucher code used on a Cliniko invoice only)."
        elif ours > theirs:
            why = "Redeemed in VaocherApp without a Cliniko invoice, voided or expired."
        else:
            why = "Used on a Cliniko invoice but not yet redeemed in VaocherApp (reconcile it)."
        out.append(VoucherLine(code, ours, theirs, why))
    return out


def record_liability_check(
    clinic: Clinic, reckon_balance: Decimal, total: Decimal, lines: list[VoucherLine], account: str
) -> LiabilityCheck:
    row = LiabilityCheck(
        clinic_id=clinic.id,
        reckon_balance=str(m.cents(reckon_balance)),
        outstanding=str(m.cents(total)),
        details={
            "account": account,
            "vouchers": [
                {
                    "code": v.code,
                    "reckon": str(v.reckon),
                    "vaocherapp": str(v.vaocherapp),
                    "message": v.message,
                }
                for v in lines
            ],
        },
    )
    db.session.add(row)
    db.session.flush()
    return row


def check_liability(env: SyncEnv) -> LiabilityCheck | None:
    """Compare the liability account's balance in Reckon with VaocherApp's outstanding total,
    voucher by voucher; None when VaocherApp is not linked."""
    clinic, settings = env.clinic, env.settings
    if connection_or_none(clinic, Provider.VAOCHERAPP) is None:
        return None
    try:
        remote, _test_mode = remote_vouchers(clinic)
        accounts = env.reckon.list_ledger_accounts(env.book_id)
    except UpstreamError as exc:
        raise UpstreamFailed(f"Could not compare the voucher liability: {exc}") from exc
    account = next((a for a in accounts if a.name == settings.account_voucher), None)
    balance = (account.balance if account else None) or ZERO
    theirs = outstanding(remote, settings.breakage, utcnow())
    lines = compare_liability(
        reckon_by_voucher(clinic), theirs, unsent_sales(clinic), posted_sales(clinic)
    )
    total = sum(theirs.values(), ZERO)
    return record_liability_check(clinic, balance, total, lines, settings.account_voucher)


def sale_unchanged(voucher: Voucher, rec: SyncRecord | None) -> bool:
    """Whether a voucher's sale is settled (posted, or nothing to post) and the voucher has not
    changed since: nothing for an incremental run to look at."""
    if rec is None or rec.state != SyncState.SYNCED:
        return False
    settled_at = rec.pushed_at or rec.updated_at
    return settled_at is not None and voucher.updated_at <= settled_at


def liability_current(clinic: Clinic) -> bool:
    """Whether the last liability comparison is newer than every change to the vouchers."""
    last = latest_liability(clinic)
    if last is None:
        return False
    changed = db.session.scalar(  # by the (clinic, updated_at) index: one probe
        select(Voucher.id)
        .where(Voucher.clinic_id == clinic.id, Voucher.updated_at > last.created_at)
        .limit(1)
    )
    return changed is None


def latest_liability(clinic: Clinic) -> LiabilityCheck | None:
    stmt = owned(LiabilityCheck, clinic).order_by(LiabilityCheck.id.desc()).limit(1)
    return db.session.scalar(stmt)


def posted_sales(clinic: Clinic) -> set[str]:
    stmt = select(SyncRecord.cliniko_id).where(
        SyncRecord.clinic_id == clinic.id,
        SyncRecord.kind == EntityKind.VOUCHER_SALE,
        SyncRecord.state == SyncState.SYNCED,
        SyncRecord.reckon_id.is_not(None),
    )
    return set(db.session.scalars(stmt))


def unsent_sales(clinic: Clinic) -> set[str]:
    stmt = select(SyncRecord.cliniko_id).where(
        SyncRecord.clinic_id == clinic.id,
        SyncRecord.kind == EntityKind.VOUCHER_SALE,
        SyncRecord.state != SyncState.SYNCED,
    )
    return set(db.session.scalars(stmt))


def details_of(check: LiabilityCheck | None) -> list[dict[str, Any]]:
    return list((check.details or {}).get("vouchers") or []) if check else []
