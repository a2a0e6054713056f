"""No silent money mistakes: exports a spreadsheet has mangled plan and apply like the original."""

from __future__ import annotations

import csv
import io

import pytest

from portal.models.reconciliation import RowClass
from tests.reconciliation_helpers import (
    REC,
    apply,
    export_csv,
    link_bondi,
    plan,
    redeem_posts,
    remote_balance,
    rows_by_code,
    voucher_on_three_visits,
)


@pytest.fixture
def linked(app, demo, login, post, sandbox, tmp_path):
    return link_bondi(app, login, post, sandbox, tmp_path)


def excel_mangled(data: bytes) -> bytes:
    """What Excel saves after opening the export: 19-digit ids as '1.01926E+18'."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = [h.strip().lower() for h in rows[0]]
    column = header.index("invoice item id")
    for row in rows[1:]:
        if row[column]:
            row[column] = f"{int(row[column]):.5E}".replace("E+", "E+")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("cp1252")


def _decisions(batch) -> list[tuple[str, str, int]]:
    return sorted(
        (row.code, row.classification, row.redeem_cents)
        for rows in rows_by_code(batch).values()
        for row in rows
    )


def test_a_mangled_export_plans_and_applies_exactly_like_the_original(
    linked, sandbox, post, run_worker, client
):
    original = export_csv(sandbox, linked)
    mangled = excel_mangled(original)
    assert b"E+" in mangled
    batch = plan(post, run_worker, mangled)
    assert RowClass.AMBIGUOUS not in {c for _, c, _ in _decisions(batch)}
    assert sorted(c for _, c, _ in _decisions(batch)) == sorted(
        [RowClass.REDEEM] * 3 + [RowClass.ALREADY]
    )
    page = client.get(f"{REC}/{batch.id}").get_data(as_text=True)
    assert page.count("changed by a spreadsheet") == 1  # said once per file, not per row

    batch = apply(post, run_worker, batch)
    assert batch.status == "applied"
    redeemed = {code for code, cls, _ in _decisions(batch) if cls == RowClass.REDEEM}
    for code in redeemed:
        assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
        assert len(redeem_posts(sandbox, code)) == 1
    assert all(
        r.outcome == "redeemed"
        for rows in rows_by_code(batch).values()
        for r in rows
        if r.classification == RowClass.REDEEM
    )


def test_exports_with_and_without_mangled_ids_meet_the_same_ledger(
    linked, sandbox, post, run_worker
):
    """A $150 voucher used $50 a visit: its balance alone cannot stop a second redeem, only the
    ledger can, whichever form of the export came first."""
    code = "TRIO-150"
    days = voucher_on_three_visits(sandbox, linked, code)
    first_visit = export_csv(sandbox, linked, days[0], days[0])
    apply(post, run_worker, plan(post, run_worker, first_visit))
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 10000
    again = plan(post, run_worker, excel_mangled(first_visit))
    assert [r.classification for r in rows_by_code(again)[code]] == [RowClass.ALREADY]
    assert "earlier run" in rows_by_code(again)[code][0].reason

    two_visits = excel_mangled(export_csv(sandbox, linked, days[0], days[1]))
    second = apply(post, run_worker, plan(post, run_worker, two_visits))
    assert [r.classification for r in rows_by_code(second)[code]] == [
        RowClass.ALREADY,
        RowClass.REDEEM,
    ]
    third = plan(post, run_worker, export_csv(sandbox, linked, days[0], days[1]))  # the original
    assert {r.classification for r in rows_by_code(third)[code]} == {RowClass.ALREADY}
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 5000
    assert len(redeem_posts(sandbox, code)) == 2
