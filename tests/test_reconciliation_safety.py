"""No silent money mistakes: exports a spreadsheet has mangled plan and apply like the original."""

from __future__ import annotations

import csv
import io

import requests

from portal.extensions import db
from portal.models import AuditEvent, JobRun
from portal.models.reconciliation import BatchStatus, ReconciliationBatch, RowClass
from tests.reconciliation_helpers import (
    REC,
    apply,
    export_csv,
    latest_batch,
    plan,
    redeem_posts,
    remote_balance,
    rows_by_code,
    voucher_on_three_visits,
)


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
    assert "earlier run of the portal" in rows_by_code(again)[code][0].reason

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


def _hand_redeem(sandbox, linked, code: str, cents: int) -> None:
    body = {"api_key": linked["vaocherapp"]["api_key"], "code": code, "amount": cents}
    answer = requests.post(f"{sandbox.url}/_sandbox/vaocherapp/redeem", json=body, timeout=5)
    assert answer.status_code < 300, answer.text


def test_a_plan_whose_rows_a_newer_plan_applied_is_out_of_date(
    linked, sandbox, post, run_worker, client
):
    data = export_csv(sandbox, linked)
    older = plan(post, run_worker, data)
    newer = plan(post, run_worker, data)
    apply(post, run_worker, newer)
    writes = len(redeem_posts(sandbox))
    page = client.get(f"{REC}/{older.id}").get_data(as_text=True)
    assert "This plan is out of date" in page
    assert f"newer reconciliation (#{newer.id})" in page
    assert 'id="approve"' not in page
    answer = post(f"{REC}/{older.id}/approve", {"confirmed": "1"})
    assert answer.status_code == 303
    assert db.session.get(ReconciliationBatch, older.id).apply_run_id is None
    assert len(redeem_posts(sandbox)) == writes


def test_a_balance_moved_before_approval_stops_the_apply_before_any_redeem_then_replan(
    linked, sandbox, post, run_worker, client
):
    code = "TRIO-150"
    days = voucher_on_three_visits(sandbox, linked, code)
    data = export_csv(sandbox, linked, days[0], days[0])
    batch = plan(post, run_worker, data)
    _hand_redeem(sandbox, linked, code, 12000)  # only $30 left; the portal is not told
    batch = apply(post, run_worker, batch)
    assert batch.status == BatchStatus.OUT_OF_DATE
    assert "re-plan" in batch.message
    assert redeem_posts(sandbox, code) == []
    run = db.session.get(JobRun, batch.apply_run_id)
    assert run.status == "failed"
    assert "out of date" in run.message
    assert "Re-plan with the same file" in client.get(f"{REC}/{batch.id}").get_data(as_text=True)

    assert post(f"{REC}/{batch.id}/replan", {"confirmed": "1"}).status_code == 303
    run_worker()
    again = latest_batch()
    assert again.id == batch.id
    assert again.status == BatchStatus.PLANNED
    assert [r.classification for r in rows_by_code(again)[code]] == [RowClass.DIFFERENCE]
    apply(post, run_worker, again)
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
    assert len(redeem_posts(sandbox, code)) == 1


def _tripled(data: bytes) -> bytes:
    """The export with its one voucher line three times over (same invoice item id)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = [h.strip().lower() for h in rows[0]]
    line = next(r for r in rows[1:] if r[header.index("total")].startswith("-"))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([rows[0], line, line, line])
    return out.getvalue().encode()


def test_a_person_decides_ambiguous_rows_and_the_decision_is_kept(
    linked, sandbox, post, run_worker, client
):
    code = "TRIO-150"
    days = voucher_on_three_visits(sandbox, linked, code)
    batch = plan(post, run_worker, _tripled(export_csv(sandbox, linked, days[0], days[0])))
    first, twin, third = rows_by_code(batch)[code]
    assert [r.classification for r in (first, twin, third)] == [
        RowClass.REDEEM,
        RowClass.AMBIGUOUS,
        RowClass.AMBIGUOUS,
    ]
    assert "Redeem this row" in client.get(f"{REC}/{batch.id}").get_data(as_text=True)

    url = f"{REC}/{batch.id}/rows/{twin.id}/decide"
    assert post(url, {"decision": "redeem", "note": " "}).status_code == 303  # why is needed
    assert rows_by_code(latest_batch())[code][1].classification == RowClass.AMBIGUOUS
    note = "two visits on one invoice, checked in Cliniko"
    assert post(url, {"decision": "redeem", "note": note}).status_code == 303
    ignore = f"{REC}/{batch.id}/rows/{third.id}/decide"
    assert post(ignore, {"decision": "ignore", "note": "exported twice"}).status_code == 303

    first, twin, third = rows_by_code(latest_batch())[code]
    assert twin.classification == RowClass.REDEEM
    assert twin.ref != first.ref
    assert (twin.decision_note, twin.decided_by_id is not None) == (note, True)
    assert third.excluded
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.action == "reconciliation.decide_row")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.detail["decision"] for e in events] == ["redeem", "ignore"]

    assert apply(post, run_worker, latest_batch()).status == "applied"
    assert len(redeem_posts(sandbox, code)) == 2
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 5000
