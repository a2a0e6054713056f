"""Many vouchers in one demo clinic, for load tests and benchmarks:
`flask seed-vouchers --count 100000` or `DEMO_VOUCHERS=100000 ./run.sh`.

Rows go in with bulk inserts (vouchers, then their search terms, as `Voucher.refresh_search_text`
keeps them), a few thousand per statement. They are load-test data: VaocherApp and Cliniko in
the sandbox do not know these codes. Every fifth is fully redeemed, the rest have some balance
left; one was bought each minute back from now, with expiry dates spread over the next 400
days; a third are not in Cliniko.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from portal.extensions import db
from portal.models import Clinic, Voucher
from portal.models.voucher import VoucherSearchTerm, search_terms

CODE_PREFIX = "GV-"
ROWS_PER_INSERT = 5000


def seed_bulk_vouchers(clinic: Clinic, count: int) -> int:
    """Give `clinic` `count` load-test vouchers in all, adding only those it lacks (so a second
    call adds nothing); returns how many were added. Flushes, never commits."""
    have = (
        db.session.scalar(
            select(func.count(Voucher.id)).where(
                Voucher.clinic_id == clinic.id, Voucher.code.startswith(CODE_PREFIX)
            )
        )
        or 0
    )
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for n in range(have, count):
        rows.append(_row(clinic, n, now))
        if len(rows) == ROWS_PER_INSERT:
            _insert(rows)
            rows = []
    if rows:
        _insert(rows)
    return max(0, count - have)


def _row(clinic: Clinic, n: int, now: datetime) -> dict[str, Any]:
    balance = 0 if n % 5 == 0 else 10000 - (n % 7) * 1000
    in_cliniko = str(n) if n % 3 else None
    bought = now - timedelta(minutes=n)
    return {
        "clinic_id": clinic.id,
        "code": f"{CODE_PREFIX}{n:06d}",
        "status": "redeemed" if balance == 0 else "active",
        "value_cents": 10000,
        "balance_cents": balance,
        "cliniko_used_cents": 0,
        "expires_at": now + timedelta(days=n % 400),
        "purchaser_name": f"Buyer {n}",
        "purchaser_email": f"buyer{n}@example.com",
        "cliniko_patient_id": in_cliniko,
        "cliniko_billable_item_id": in_cliniko,
        "purchased_at": bought,
        "search_text": f"{CODE_PREFIX.lower()}{n:06d} buyer {n} buyer{n}@example.com",
        "test_mode": False,
        "created_at": bought,  # recorded by the portal when bought
        "updated_at": bought,
    }


def _insert(rows: list[dict[str, Any]]) -> None:
    made = db.session.execute(insert(Voucher).returning(Voucher.code, Voucher.id), rows)
    ids: dict[str, int] = {code: vid for code, vid in made}
    terms = [
        {"clinic_id": r["clinic_id"], "voucher_id": ids[r["code"]], "term": term}
        for r in rows
        for term in search_terms(r["search_text"])
    ]
    db.session.execute(insert(VoucherSearchTerm), terms)
