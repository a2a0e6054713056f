"""Planning: check each voucher once against VaocherApp and decide what every row of it needs.

Vouchers are checked in chunks (`check_vouchers`): a chunk's rows, local vouchers (with their
search terms), ledger entries and ledger totals are each one query, so the plan's time depends
on the export and the clinic's own vouchers, never on anyone else's. `check_voucher` does one
voucher alone (the fallback when a chunk fails, so one bad voucher cannot fail its neighbours).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_date
from sqlalchemy import func, or_, select

from portal.clients.errors import NotFound, UpstreamError
from portal.clients.vaocherapp import VaocherAppClient
from portal.clients.vaocherapp import Voucher as RemoteVoucher
from portal.extensions import db
from portal.models import Voucher
from portal.models.reconciliation import (
    ReconciliationBatch,
    ReconciliationLedger,
    ReconciliationRow,
    RowClass,
)
from portal.models.types import utcnow
from portal.services.formats import money_text
from portal.services.problems.sources import note_plan_outcome
from portal.services.reconciliation.redeem import is_done, ledger_entries
from portal.services.reconciliation.values import clean_code
from portal.services.vouchers.records import apply_remote_state, upsert_voucher

# Rows these classes hold are re-decided whenever the voucher is allocated again.
REALLOCATED = (
    RowClass.PENDING,
    RowClass.REDEEM,
    RowClass.DIFFERENCE,
    RowClass.ALREADY,
    RowClass.VOIDED,
)
# Past this many vouchers, one pass over VaocherApp's (assumed) list beats one GET each.
LIST_THRESHOLD = 50
BLOCKED_STATUSES = ("voided", "void", "expired", "cancelled")
# A voucher's rows in the order they use it up: by invoice date (undated rows first, as SQLite
# sorts NULLs; PostgreSQL would put them last and so redeem other rows), then invoice number.
USE_ORDER = (ReconciliationRow.issue_date.asc().nulls_first(), ReconciliationRow.invoice_number)


def voucher_refs(batch: ReconciliationBatch) -> list[tuple[str, str]]:
    """(ref, label) of every voucher and unknown code the plan must check, in a stable order."""
    known = (
        select(Voucher.code)
        .join(ReconciliationRow, ReconciliationRow.voucher_id == Voucher.id)
        .where(ReconciliationRow.batch_id == batch.id, Voucher.clinic_id == batch.clinic_id)
        .distinct()
    )
    unknown = (
        select(ReconciliationRow.code)
        .where(
            ReconciliationRow.batch_id == batch.id,
            ReconciliationRow.voucher_id.is_(None),
            ReconciliationRow.classification == RowClass.PENDING,
        )
        .distinct()
    )
    codes = sorted(set(db.session.scalars(known)) | set(db.session.scalars(unknown)))
    return [(f"voucher:{code.upper()}", f"Voucher {code}") for code in codes]


def prefetch_vouchers(client: VaocherAppClient, codes: set[str]) -> dict[str, RemoteVoucher]:
    """Read many vouchers in list pages; empty when the list endpoint is not there."""
    if len(codes) <= LIST_THRESHOLD:
        return {}
    found: dict[str, RemoteVoucher] = {}
    try:
        for remote in client.iter_vouchers():
            if remote.code.upper() in codes:
                found[remote.code.upper()] = remote
    except NotFound:
        return {}  # the list endpoint is our guess (vaocherapp.md §4): fall back to one GET each
    return found


def _rows_of(batch: ReconciliationBatch, voucher_id: int | None, code: str) -> list[Any]:
    stmt = select(ReconciliationRow).where(ReconciliationRow.batch_id == batch.id)
    if voucher_id is None:
        stmt = stmt.where(ReconciliationRow.code == code, ReconciliationRow.voucher_id.is_(None))
    else:
        stmt = stmt.where(ReconciliationRow.voucher_id == voucher_id)
    return list(db.session.scalars(stmt.order_by(*USE_ORDER, ReconciliationRow.row_number)))


def check_voucher(
    batch: ReconciliationBatch,
    code: str,
    client: VaocherAppClient,
    prefetched: dict[str, RemoteVoucher],
    run_id: int,
) -> str:
    """Read one voucher (unless prefetched) and classify all of its rows; returns a summary."""
    local = db.session.scalar(
        select(Voucher).where(
            Voucher.clinic_id == batch.clinic_id, func.upper(Voucher.code) == code
        )
    )
    rows = _rows_of(batch, local.id if local else None, code)
    try:
        remote = prefetched.get(code) or client.get_voucher(code)
    except NotFound:
        remote = None
    message = _classify(batch, code, local, rows, remote, run_id)
    db.session.flush()
    return message


def _classify(
    batch: ReconciliationBatch,
    code: str,
    local: Voucher | None,
    rows: list[ReconciliationRow],
    remote: RemoteVoucher | None,
    run_id: int,
    ledger: Ledger | None = None,
) -> str:
    """Decide one voucher's rows from what VaocherApp said (None: it has no such voucher)."""
    if remote is None:
        for row in rows:
            if row.classification in REALLOCATED:
                row.classification = RowClass.UNKNOWN
                row.reason = "VaocherApp has no voucher with this code."
        return f"{code}: not in VaocherApp"
    if local is None:
        local, _ = upsert_voucher(batch.clinic, remote, run_id=run_id)
        for row in rows:
            row.voucher_id = local.id
    else:
        apply_remote_state(local, remote)
    for seq, row in enumerate(rows):
        row.seq = seq
    allocate(local, rows, remote.original_value or local.value_cents, ledger)
    return f"{code}: balance {money_text(local.balance_cents)}, {len(rows)} row(s)"


@dataclass
class Ledger:
    """What the clinic's ledger says about a chunk's rows, read in two queries."""

    entries: dict[str, ReconciliationLedger]
    totals: dict[int, int]  # voucher id → cents redeemed by portal runs

    @classmethod
    def load(cls, clinic_id: int, rows: Sequence[ReconciliationRow]) -> Ledger:
        ids = {r.voucher_id for r in rows if r.voucher_id is not None}
        stmt = (
            select(ReconciliationLedger.voucher_id, func.sum(ReconciliationLedger.amount_cents))
            .where(
                ReconciliationLedger.clinic_id == clinic_id,
                ReconciliationLedger.voucher_id.in_(ids),
                ReconciliationLedger.state == "done",
            )
            .group_by(ReconciliationLedger.voucher_id)
        )
        totals = {vid: int(total or 0) for vid, total in db.session.execute(stmt)} if ids else {}
        return cls(ledger_entries(clinic_id, rows), totals)


@dataclass(frozen=True)
class Checked:
    """One voucher's outcome in a chunk: its summary, or why VaocherApp could not be read."""

    code: str
    message: str
    failed: bool = False


def check_vouchers(
    batch: ReconciliationBatch,
    codes: Sequence[str],
    client: VaocherAppClient,
    prefetched: dict[str, RemoteVoucher],
    run_id: int,
) -> list[Checked]:
    """`check_voucher` for many codes at once, a query per kind of row rather than per voucher.
    A voucher VaocherApp could not be read for fails alone; anything else raises."""
    locals_by_code, rows_by_code = _chunk_rows(batch, codes)
    ledger = Ledger.load(batch.clinic_id, [r for rows in rows_by_code.values() for r in rows])
    out = []
    for code in codes:
        try:
            remote = prefetched.get(code) or client.get_voucher(code)
        except NotFound:
            remote = None
        except UpstreamError as exc:
            out.append(Checked(code, str(exc), failed=True))
            continue
        local, rows = locals_by_code.get(code), rows_by_code.get(code, [])
        out.append(Checked(code, _classify(batch, code, local, rows, remote, run_id, ledger)))
    db.session.flush()
    return out


def _chunk_rows(
    batch: ReconciliationBatch, codes: Sequence[str]
) -> tuple[dict[str, Voucher], dict[str, list[ReconciliationRow]]]:
    """The chunk's local vouchers by code, and each code's rows in order of use."""
    wanted = set(codes)
    vouchers = db.session.scalars(
        select(Voucher).where(  # by the (clinic, upper(code)) index
            Voucher.clinic_id == batch.clinic_id, func.upper(Voucher.code).in_(wanted)
        )
    )
    by_code = {v.code.upper(): v for v in vouchers}
    by_id = {v.id: code for code, v in by_code.items()}
    unknown = wanted - by_code.keys()
    stmt = select(ReconciliationRow).where(
        ReconciliationRow.batch_id == batch.id,
        or_(
            ReconciliationRow.voucher_id.in_(by_id),
            ReconciliationRow.voucher_id.is_(None) & ReconciliationRow.code.in_(unknown),
        ),
    )
    rows: dict[str, list[ReconciliationRow]] = defaultdict(list)
    for row in db.session.scalars(stmt.order_by(*USE_ORDER, ReconciliationRow.row_number)):
        code = by_id.get(row.voucher_id) if row.voucher_id else clean_code(row.code)
        if code is not None:
            rows[code].append(row)
    return by_code, rows


def _ledger_total(voucher: Voucher) -> int:
    """What portal runs have redeemed from this voucher."""
    stmt = select(ReconciliationLedger.amount_cents).where(
        ReconciliationLedger.clinic_id == voucher.clinic_id,
        ReconciliationLedger.voucher_id == voucher.id,
        ReconciliationLedger.state == "done",
    )
    return sum(db.session.scalars(stmt))


def _blocked(voucher: Voucher, now: datetime) -> str:
    if voucher.status in BLOCKED_STATUSES:
        return f"The voucher is {voucher.status} in VaocherApp, so nothing can be redeemed."
    if voucher.expires_at is not None and voucher.expires_at <= now:
        return (
            f"The voucher expired on {format_date(voucher.expires_at, 'd MMM y', locale='en_AU')},"
            " so nothing can be redeemed."
        )
    return ""


def allocate(
    voucher: Voucher, rows: Sequence[ReconciliationRow], value: int, ledger: Ledger | None = None
) -> None:
    """Decide each row in order of use: what it redeems given the balance VaocherApp showed."""
    if ledger is None:
        ledger_total = _ledger_total(voucher)
        entries = ledger_entries(voucher.clinic_id, rows)  # the apply's rule, the apply's scope
    else:
        ledger_total, entries = ledger.totals.get(voucher.id, 0), ledger.entries
    done_keys = {row.ref for row in rows if is_done(row, entries)}
    balance = voucher.balance_cents
    # Money redeemed in VaocherApp that no portal run explains: staff redeemed by hand.
    outside = max(0, value - balance - ledger_total) if value else 0
    live = [r for r in rows if r.classification in REALLOCATED]
    for row in live:
        row.plan_balance_cents, row.plan_outside_cents, row.redeem_cents = balance, outside, 0
    blocked = _blocked(voucher, utcnow())
    fresh = [r for r in live if r.ref not in done_keys]
    by_hand = next((r for r in fresh if outside and r.amount_cents == outside), None)
    for row in live:
        if row.ref in done_keys:
            row.classification = RowClass.ALREADY
            row.reason = "Skipped: an earlier run of the portal already redeemed this row."
        elif blocked:
            row.classification, row.reason = RowClass.VOIDED, blocked
        elif row is by_hand:
            row.classification = RowClass.ALREADY
            row.reason = (
                "Skipped: someone already redeemed this amount by hand in VaocherApp (the "
                "voucher's balance there is exactly this much lower)."
            )
        else:
            balance -= _decide(row, balance)


def _decide(row: ReconciliationRow, balance: int) -> int:
    """Classify one fresh row against what remains; returns what it takes (0 when excluded)."""
    need = row.amount_cents
    if balance <= 0:
        row.classification = RowClass.ALREADY
        row.reason = "Skipped: nothing is left on the voucher to redeem."
        return 0
    if balance < need:
        row.classification = RowClass.DIFFERENCE
        row.reason = (
            f"Only {money_text(balance)} is left on the voucher, not the {money_text(need)} "
            f"this line used (the rest was redeemed outside the portal): redeems "
            f"{money_text(balance)}."
        )
    else:
        row.classification, row.reason = RowClass.REDEEM, ""
    row.redeem_cents = min(need, balance)
    return 0 if row.excluded else row.redeem_cents


def reallocate_voucher(batch: ReconciliationBatch, voucher_id: int) -> None:
    """After an exclusion: decide the voucher's rows again from the balance the plan read."""
    rows = _rows_of(batch, voucher_id, "")
    voucher = db.session.get(Voucher, voucher_id)
    first = next((r for r in rows if r.plan_balance_cents is not None), None)
    if voucher is None or first is None:
        return
    saved = voucher.balance_cents
    voucher.balance_cents = first.plan_balance_cents or 0
    allocate(
        voucher, rows, voucher.balance_cents + first.plan_outside_cents + _ledger_total(voucher)
    )
    voucher.balance_cents = saved
    db.session.flush()


def summarise(batch: ReconciliationBatch) -> dict[str, Any]:
    """Rows and cents per class (excluded rows counted apart), stored on the batch."""
    stmt = (
        select(
            ReconciliationRow.classification,
            ReconciliationRow.excluded,
            func.count(),
            func.coalesce(func.sum(ReconciliationRow.redeem_cents), 0),
            func.coalesce(func.sum(ReconciliationRow.amount_cents), 0),
        )
        .where(ReconciliationRow.batch_id == batch.id)
        .group_by(ReconciliationRow.classification, ReconciliationRow.excluded)
    )
    totals: dict[str, Any] = {}
    for cls, excluded, count, redeem, amount in db.session.execute(stmt):
        key = "excluded" if excluded else cls
        entry = totals.setdefault(key, {"rows": 0, "redeem_cents": 0, "amount_cents": 0})
        entry["rows"] += count
        entry["redeem_cents"] += int(redeem)
        entry["amount_cents"] += int(amount)
    batch.totals = totals
    note_plan_outcome(batch, totals)
    db.session.flush()
    return totals
