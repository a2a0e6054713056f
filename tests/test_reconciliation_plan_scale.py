"""The plan at scale: its queries do not grow with its vouchers, nor with other clinics' data.
(Time itself is measured by tests/bench/reconciliation.py, never asserted here.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from sqlalchemy import event

from portal.extensions import db
from portal.models import Clinic, Voucher
from portal.models.reconciliation import RowClass
from tests.reconciliation_helpers import plan, rows_by_code, sync_vouchers

HEADERS = ["Invoice Number", "Issue Date", "Item", "Item Code", "Quantity", "Total"]


def _sell(sandbox, linked, codes: list[str]) -> None:
    url = f"{sandbox.url}/_sandbox/vaocherapp/purchase"
    for code in codes:
        sale = {"api_key": linked["vaocherapp"]["api_key"], "value": 5000, "code": code}
        sale |= {"purchaser_name": "B", "purchaser_email": "b@x.io"}
        assert requests.post(url, json=sale, timeout=5).status_code == 201


def _export(codes: list[str], treatments: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for n in range(treatments):
        writer.writerow([5000 + n, "2030-01-02", "Consultation", "PHY-C", 1, "95.00"])
    for n, code in enumerate(codes):
        writer.writerow([9000 + n, "2030-01-03", f"Gift voucher {code}", code, 1, "-50.00"])
    return out.getvalue().encode()


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _planned_with(post, run_worker, codes: list[str], treatments: int) -> tuple[int, object]:
    with _statements() as seen:
        batch = plan(post, run_worker, _export(codes, treatments))
    return len(seen), batch


def test_the_plans_queries_do_not_grow_with_its_vouchers_or_rows(linked, sandbox, post, run_worker):
    codes = [f"SCALE{n:04d}" for n in range(240)]
    _sell(sandbox, linked, codes)
    sync_vouchers()
    # Another clinic's vouchers, with the same codes in other case: never looked at.
    other = db.session.scalar(db.select(Clinic).where(Clinic.slug == "manly-allied"))
    db.session.execute(
        db.insert(Voucher),
        [{"clinic_id": other.id, "code": c.lower(), "balance_cents": 1} for c in codes],
    )
    db.session.commit()
    few, small = _planned_with(post, run_worker, codes[:60], treatments=100)
    many, large = _planned_with(post, run_worker, codes[60:], treatments=3000)
    # Four times the vouchers and thirty times the rows: the same handful of queries, plus a
    # few per chunk of vouchers and per thousand rows stored, never one per voucher or row.
    assert many - few < 30, (few, many)
    for batch, count in ((small, 60), (large, 180)):
        rows = rows_by_code(batch)
        assert len(rows) == count
        assert all(r.classification == RowClass.REDEEM for rs in rows.values() for r in rs)
        assert all(r.redeem_cents == 5000 for rs in rows.values() for r in rs)
