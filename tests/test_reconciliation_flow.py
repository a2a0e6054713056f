"""Reconciliation end to end against the sandbox: plan, apply, idempotency, hand redeems, faults."""

from __future__ import annotations

import time

import requests

from portal.extensions import db
from portal.jobs.start import retry_run
from portal.models import JobItem, JobRun, RetryMode, User
from portal.models.reconciliation import LedgerState, ReconciliationLedger, RowClass
from tests.fixtures.portal import wait_for
from tests.reconciliation_helpers import (
    REC,
    apply,
    export_csv,
    latest_batch,
    plan,
    redeem_posts,
    remote_balance,
    rows_by_code,
    voucher,
    voucher_on_three_visits,
)


def _classes(batch) -> dict[str, list[str]]:
    return {code: [r.classification for r in rows] for code, rows in rows_by_code(batch).items()}


def test_seeded_export_is_planned_applied_and_a_second_run_changes_nothing(
    linked, sandbox, post, run_worker, client
):
    data = export_csv(sandbox, linked)
    batch = plan(post, run_worker, data)
    classes = _classes(batch)
    assert sorted(c for cs in classes.values() for c in cs) == sorted(
        [RowClass.REDEEM] * 3 + [RowClass.ALREADY]
    )
    assert batch.not_voucher_rows == batch.rows_read - 4
    assert redeem_posts(sandbox) == []  # planning never writes

    batch = apply(post, run_worker, batch)
    assert batch.status == "applied"
    redeemed = [code for code, cs in classes.items() if cs == [RowClass.REDEEM]]
    for code in redeemed:
        assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
        assert voucher(code).billable_item_archived_at is not None
        assert len(redeem_posts(sandbox, code)) == 1
    assert {e.kind for e in voucher(redeemed[0]).events} >= {"redeemed", "billable_item_archived"}

    writes_before = len(redeem_posts(sandbox))
    again = plan(post, run_worker, data)
    assert {c for cs in _classes(again).values() for c in cs} == {RowClass.ALREADY}
    assert post(f"{REC}/{again.id}/approve", {"confirmed": "1"}).status_code == 303
    assert latest_batch().apply_run_id is None  # nothing to apply: refused
    assert len(redeem_posts(sandbox)) == writes_before

    report = client.get(f"{REC}/{batch.id}/report.csv").get_data(as_text=True)
    assert report.splitlines()[0].startswith("row,invoice")
    assert "redeemed" in report


def test_three_visits_one_redeemed_by_hand_and_overlapping_exports(
    linked, sandbox, post, run_worker
):
    code = "TRIO-150"
    days = voucher_on_three_visits(sandbox, linked, code)
    hand = {
        "api_key": linked["vaocherapp"]["api_key"],
        "code": code,
        "amount": 5000,
        "reason": "front desk",
    }
    requests.post(f"{sandbox.url}/_sandbox/vaocherapp/redeem", json=hand, timeout=5)

    first = plan(post, run_worker, export_csv(sandbox, linked, days[0], days[1]))
    assert _classes(first)[code] == [RowClass.ALREADY, RowClass.REDEEM]
    apply(post, run_worker, first)
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 5000
    assert voucher(code).billable_item_archived_at is None  # re-priced instead

    second = plan(post, run_worker, export_csv(sandbox, linked, days[0], days[2]))
    assert _classes(second)[code] == [RowClass.ALREADY, RowClass.ALREADY, RowClass.REDEEM]
    apply(post, run_worker, second)
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
    assert voucher(code).billable_item_archived_at is not None
    assert len(redeem_posts(sandbox, code)) == 2  # the hand redeem is not an API call


def test_a_plan_with_only_a_used_up_voucher_archives_its_billable_item(
    linked, sandbox, post, run_worker, client
):
    """Used up by hand in VaocherApp, still live in Cliniko: nothing to redeem, but applying the
    plan closes the gap by archiving the billable item."""
    code = "HAND-150"
    days = voucher_on_three_visits(sandbox, linked, code)
    hand = {"api_key": linked["vaocherapp"]["api_key"], "code": code, "amount": 15000}
    requests.post(f"{sandbox.url}/_sandbox/vaocherapp/redeem", json=hand, timeout=5)
    batch = plan(post, run_worker, export_csv(sandbox, linked, days[0], days[2]))
    assert _classes(batch)[code] == [RowClass.ALREADY] * 3
    page = client.get(f"{REC}/{batch.id}").get_data(as_text=True)
    assert 'id="total-to-archive">' in page
    assert 'id="approve"' in page

    apply(post, run_worker, batch)
    assert voucher(code).billable_item_archived_at is not None
    assert redeem_posts(sandbox, code) == []
    archived = [r for r in sandbox.requests_log("cliniko") if r["path"].endswith("/archive")]
    assert len(archived) == 1


def test_excluding_a_row_moves_the_voucher_balance_to_the_next_row(
    linked, sandbox, post, run_worker
):
    code = "EXCL-150"
    voucher_on_three_visits(sandbox, linked, code)
    batch = plan(post, run_worker, export_csv(sandbox, linked))
    rows = rows_by_code(batch)[code]
    assert post(f"{REC}/{batch.id}/rows/{rows[0].id}/exclude", {"excluded": "1"}).status_code == 303
    db.session.expire_all()
    assert rows[0].excluded
    assert latest_batch().totals["excluded"]["rows"] == 1
    apply(post, run_worker, latest_batch())
    assert remote_balance(sandbox, linked, code)["remain_balance"] == 5000


def test_429s_and_5xx_during_apply_never_redeem_twice(linked, sandbox, post, run_worker, app):
    batch = plan(post, run_worker, export_csv(sandbox, linked))
    # Seeded: the apply reads every balance first, then redeems; seed 7 makes faults hit redeems.
    faults = {"upstream": "vaocherapp", "burst_429": 2, "error_rate": 0.6, "seed": 7}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=5)
    batch = apply(post, run_worker, batch)
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    run = db.session.get(JobRun, batch.apply_run_id)
    assert run.failed_count > 0  # the faults did bite
    manager = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
    for _ in range(4):  # retry failed rows alone until done
        if not run.failed_count:
            break
        time.sleep(app.config["RECONCILIATION_SETTLE_SECONDS"])  # let unanswered redeems settle
        run = retry_run(run, manager, RetryMode.FAILED)
        run_worker()
        db.session.expire_all()
        run = db.session.get(JobRun, run.id)
    assert run.failed_count == 0
    for code, rows in rows_by_code(batch).items():
        if rows[0].classification == RowClass.REDEEM:
            ok = [r for r in redeem_posts(sandbox, code) if r["status"] == 200]
            assert len(ok) == 1, code
            assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
    assert all(
        e.state == LedgerState.DONE for e in db.session.scalars(db.select(ReconciliationLedger))
    )


def test_cliniko_failing_the_billable_item_writes_fails_those_steps_alone(
    linked, sandbox, post, run_worker
):
    """The item writes run on the apply's Cliniko thread: their failures still come back to the
    run as failed steps with Cliniko's message, and retrying them finishes the job."""
    batch = plan(post, run_worker, export_csv(sandbox, linked))
    faults = {"upstream": "cliniko", "error_rate": 1.0, "seed": 1}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=5)
    batch = apply(post, run_worker, batch)
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    run = db.session.get(JobRun, batch.apply_run_id)
    redeemed = [code for code, rows in rows_by_code(batch).items() if rows[0].outcome == "redeemed"]
    assert len(redeemed) == 3
    failed = db.session.scalars(
        db.select(JobItem).where(JobItem.run_id == run.id, JobItem.outcome == "failed")
    ).all()
    # Only the billable-item steps failed: the three just used up and the one used up before.
    assert sorted(i.ref for i in failed) == sorted(
        f"billable-item:{code}" for code in rows_by_code(batch)
    )
    assert all("Cliniko" in i.message for i in failed)
    assert all(voucher(code).billable_item_archived_at is None for code in redeemed)

    manager = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
    retry = retry_run(run, manager, RetryMode.FAILED)
    run_worker()
    db.session.expire_all()
    retry = db.session.get(JobRun, retry.id)
    assert (retry.ok_count, retry.failed_count) == (4, 0)
    for code in redeemed:
        assert voucher(code).billable_item_archived_at is not None
        assert len(redeem_posts(sandbox, code)) == 1  # the retry redeemed nothing again


def test_worker_killed_mid_redeem_is_resumed_without_a_second_redeem(
    linked, sandbox, post, run_worker, worker_process, app
):
    batch = plan(post, run_worker, export_csv(sandbox, linked))
    # Every VaocherApp call now hangs 2 s and then takes effect: the redeem is in flight.
    faults = {"upstream": "vaocherapp", "hang_rate": 1.0, "hang_seconds": 2}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=5)
    assert post(f"{REC}/{batch.id}/approve", {"confirmed": "1"}).status_code == 303
    worker = worker_process()

    def intent():
        db.session.expire_all()
        return db.session.scalar(
            db.select(ReconciliationLedger).where(ReconciliationLedger.state == "intent")
        )

    wait_for(intent, timeout=30)
    time.sleep(0.3)
    worker.kill()  # between the redeem call and recording its answer
    worker.wait(timeout=10)
    time.sleep(2.5)  # the hung redeem lands in VaocherApp after the worker is gone
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    run = wait_for(lambda: _interrupted(batch.id), timeout=30)
    manager = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
    retry_run(run, manager, RetryMode.UNFINISHED)
    run_worker()
    db.session.expire_all()
    for code, rows in rows_by_code(batch).items():
        if rows[0].classification == RowClass.REDEEM:
            assert len(redeem_posts(sandbox, code)) == 1, code
            assert remote_balance(sandbox, linked, code)["remain_balance"] == 0
    confirmed = [
        r
        for rows in rows_by_code(batch).values()
        for r in rows
        if "interruption" in r.outcome_message
    ]
    assert len(confirmed) == 1


def _interrupted(batch_id: int):
    from portal.jobs.runs import sweep_stale_runs

    sweep_stale_runs()
    db.session.commit()
    db.session.expire_all()
    batch = latest_batch()
    run = db.session.get(JobRun, batch.apply_run_id)
    return run if run.status == "interrupted" else None
