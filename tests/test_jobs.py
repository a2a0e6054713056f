"""Job runs end to end: a real Redis, real RQ workers (in-process burst and separate processes)."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db, get_redis
from portal.jobs.context import Deferred, ItemSkipped, RunContext, WorkItem
from portal.jobs.runs import sweep_stale_runs
from portal.jobs.schedule_tick import tick
from portal.models import JobItem, JobRun, JobStatus
from portal.models.types import utcnow
from tests.fixtures.portal import wait_for

BONDI = "/c/bondi-physio/jobs"


def _start(post, items: int, delay: float = 0.0):
    response = post(f"{BONDI}/start/demo", {"items": items})
    assert response.status_code == 303
    run = db.session.scalars(db.select(JobRun).order_by(JobRun.id.desc())).first()
    run.params = {**run.params, "delay": delay}  # tests keep items fast unless they need time
    db.session.commit()
    return run


def _fresh(run_id: int) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, run_id)


def _swept(run_id: int) -> JobRun:
    """The run after the stale-run sweep the scheduler's tick does each minute."""
    sweep_stale_runs()
    db.session.commit()
    return _fresh(run_id)


@pytest.fixture
def manager(demo, login):
    return login("manager@example.com")


def test_demo_job_records_every_item_and_ends_partial(manager, post, run_worker, client):
    run = _start(post, items=22)
    assert run.status == JobStatus.QUEUED
    run_worker()
    run = _fresh(run.id)
    # Items 7, 14, 21 are skipped; 11 and 22 fail on the first try; the other 17 succeed.
    assert (run.ok_count, run.skipped_count, run.failed_count) == (17, 3, 2)
    assert run.status == JobStatus.PARTIAL
    assert run.total == run.processed == 22
    assert run.percent == 100
    page = client.get(f"{BONDI}/{run.id}").get_data(as_text=True)
    assert f"Demo job · run #{run.id}" in page  # the run's own title
    assert "Synthetic upstream error" in page
    assert "Retry 2 failed items" in page


def test_retry_failed_items_processes_only_those(manager, post, run_worker, client):
    run = _start(post, items=22)
    run_worker()
    response = post(f"{BONDI}/{run.id}/retry", {"mode": "failed"})
    assert response.status_code == 303
    retry = db.session.scalars(db.select(JobRun).where(JobRun.parent_id == run.id)).one()
    run_worker()
    retry = _fresh(retry.id)
    refs = db.session.scalars(db.select(JobItem.ref).where(JobItem.run_id == retry.id)).all()
    assert sorted(refs) == ["demo-011", "demo-022"]
    assert retry.status == JobStatus.SUCCEEDED
    assert (retry.total, retry.ok_count) == (2, 2)


def test_second_start_while_live_points_to_the_running_one(manager, post, client):
    first = _start(post, items=5)
    response = post(f"{BONDI}/start/demo", {"items": 5}, follow_redirects=True)
    assert f"already going in this clinic (run #{first.id})" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(JobRun)) == 1


def test_the_database_refuses_two_live_runs_of_one_kind(demo):
    clinic = demo["clinics"]["bondi-physio"]
    db.session.add(JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.RUNNING, params={}))
    db.session.commit()
    db.session.add(JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.QUEUED, params={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Finished runs do not count.
    db.session.add(JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.FAILED, params={}))
    db.session.commit()


def test_cancelling_a_queued_run_means_it_never_starts(manager, post, run_worker):
    run = _start(post, items=5)
    assert post(f"{BONDI}/{run.id}/cancel", {"confirmed": "1"}).status_code == 303
    run_worker()
    run = _fresh(run.id)
    assert run.status == JobStatus.CANCELLED
    assert run.processed == 0


def test_cancel_needs_confirmation_without_javascript(manager, post, client):
    run = _start(post, items=5)
    page = client.get(f"{BONDI}/{run.id}/cancel").get_data(as_text=True)
    assert "Yes, cancel the run" in page
    assert _fresh(run.id).status == JobStatus.QUEUED


def test_cancelling_a_running_run_stops_between_items(manager, post, worker_process):
    run = _start(post, items=200, delay=0.05)
    worker_process()
    wait_for(lambda: _fresh(run.id).processed >= 3)
    post(f"{BONDI}/{run.id}/cancel", {"confirmed": "1"})
    run = wait_for(lambda: (r := _fresh(run.id)).status == JobStatus.CANCELLED and r)
    assert 3 <= run.processed < 200
    assert run.processed == db.session.scalar(
        db.select(db.func.count()).select_from(JobItem).where(JobItem.run_id == run.id)
    )


def test_killed_worker_leaves_the_run_interrupted_and_retry_finishes_the_rest(
    manager, post, client, worker_process, run_worker
):
    run = _start(post, items=60, delay=0.05)
    proc = worker_process()
    wait_for(lambda: _fresh(run.id).processed >= 5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _fresh(run.id).processed
    # The tick's sweep notices the silent heartbeat (stale after 3 s in tests, 30 s by default).
    wait_for(lambda: _swept(run.id).status == JobStatus.INTERRUPTED)
    run = _fresh(run.id)
    progress = client.get(f"{BONDI}/{run.id}/progress").get_data(as_text=True)
    assert "interrupted" in progress
    assert "The worker stopped during this run" in progress
    assert "Retry: finish the unfinished items" in client.get(f"{BONDI}/{run.id}").get_data(
        as_text=True
    )
    post(f"{BONDI}/{run.id}/retry", {"mode": "unfinished"})
    resumed = db.session.scalars(db.select(JobRun).where(JobRun.parent_id == run.id)).one()
    run_worker()
    resumed = _fresh(resumed.id)
    assert resumed.total == 60 - done_before
    refs = db.session.scalars(
        db.select(JobItem.ref).where(JobItem.run_id.in_([run.id, resumed.id]))
    )
    assert sorted(set(refs)) == [f"demo-{n:03d}" for n in range(1, 61)]


def test_heartbeat_keeps_a_slow_item_from_looking_dead(manager, post, worker_process):
    run = _start(post, items=1, delay=5.0)  # one item longer than the 3 s stale limit
    worker_process()
    wait_for(lambda: _fresh(run.id).status == JobStatus.RUNNING)
    seen = set()

    def finished() -> bool:
        seen.add(_swept(run.id).status)
        return JobStatus.SUCCEEDED in seen

    wait_for(finished, timeout=15, interval=0.5)
    assert seen == {JobStatus.RUNNING, JobStatus.SUCCEEDED}


def test_a_queued_run_lost_by_redis_is_marked_interrupted(manager, post):
    run = _start(post, items=3)
    get_redis().flushdb()
    run.created_at = utcnow() - timedelta(seconds=10)
    db.session.commit()
    assert _swept(run.id).status == JobStatus.INTERRUPTED


def test_the_schedule_tick_marks_a_silent_run_interrupted_and_pages_do_not(manager, post, client):
    run = _start(post, items=3)
    run.status, run.heartbeat_at = JobStatus.RUNNING, utcnow() - timedelta(seconds=10)
    db.session.commit()
    client.get(f"{BONDI}/{run.id}/progress")  # a GET only reads
    assert _fresh(run.id).status == JobStatus.RUNNING
    tick()
    assert _fresh(run.id).status == JobStatus.INTERRUPTED
    page = client.get(f"{BONDI}/{run.id}").get_data(as_text=True)
    assert "Retry: finish the unfinished items" in page


def test_history_is_in_the_database_not_redis(manager, post, run_worker, client):
    run = _start(post, items=3)
    run_worker()
    get_redis().flushdb()
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert f"#{run.id}" in page
    assert "succeeded" in page
    assert f'>Demo job</a> <span class="muted">#{run.id}</span>' in page


def test_progress_poll_updates_only_the_live_region_and_ends_with_the_whole_list(
    manager, post, run_worker, client
):
    run = _start(post, items=3)
    headers = {"HX-Request": "true"}
    page = client.get(f"{BONDI}/{run.id}").get_data(as_text=True)
    assert 'id="run-live" aria-live="polite"' in page
    assert 'hx-trigger="every 1s"' in page
    live = client.get(f"{BONDI}/{run.id}/progress?since=0&empty=1", headers=headers)
    assert live.status_code == 200
    text = live.get_data(as_text=True)
    assert "<html" not in text  # a fragment, not the page
    assert 'id="run-status"' in text
    assert 'id="run-actions"' not in text  # the buttons are never replaced while it runs
    run_worker()
    db.session.expire_all()  # requests here share the test's session: drop what they loaded
    done = client.get(f"{BONDI}/{run.id}/progress?since=0&empty=1", headers=headers)
    assert done.status_code == 286  # htmx stops polling
    text = done.get_data(as_text=True)
    assert "100%" in text
    assert '<section id="run-items" aria-labelledby="items-heading" hx-swap-oob="true">' in text
    assert text.count('class="outcome-') == 3  # every item, once more, without a reload
    assert 'id="run-actions" class="actions" hx-swap-oob="true"' in text


def test_items_filter_by_outcome_and_export_safely(manager, post, run_worker, client):
    run = _start(post, items=22)
    run_worker()
    failed = client.get(f"{BONDI}/{run.id}/items?outcome=failed", headers={"HX-Request": "true"})
    text = failed.get_data(as_text=True)
    assert text.count('class="outcome-failed"') == 2
    assert 'class="outcome-ok"' not in text
    db.session.add(JobItem(run_id=run.id, ref="=HYPERLINK(1)", outcome="failed", message="-x"))
    db.session.commit()
    csv_text = client.get(f"{BONDI}/{run.id}/items.csv?outcome=failed").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in csv_text
    assert ",'-x," in csv_text
    assert csv_text.count("\n") == 4  # header + 3 failed items


def test_run_list_filters_by_status_and_kind_and_paginates(manager, demo, client):
    clinic = demo["clinics"]["bondi-physio"]
    for n in range(30):
        status = JobStatus.SUCCEEDED if n % 3 else JobStatus.FAILED
        db.session.add(JobRun(clinic_id=clinic.id, kind="demo", status=status, params={}))
    db.session.commit()
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert "30 in total" in page
    assert 'rel="next"' in page
    failed = client.get(f"{BONDI}/?status=failed", headers={"HX-Request": "true"})
    assert "10 in total" in failed.get_data(as_text=True)
    today = utcnow().date().isoformat()
    assert "30 in total" in client.get(f"{BONDI}/?date_from={today}").get_data(as_text=True)
    nothing = client.get(f"{BONDI}/?kind=demo&date_to=2000-01-01").get_data(as_text=True)
    assert "No runs match these filters" in nothing


def test_the_demo_job_does_not_exist_outside_demo_mode(manager, post, app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    assert post(f"{BONDI}/start/demo", {"items": 3}).status_code == 404


def test_deferred_items_are_recorded_in_order_with_their_outcomes_even_on_cancel(demo):
    """Items whose upstream call runs on another thread come back to the run's own thread to be
    recorded; a cancel stops new items but records the calls already under way."""
    clinic = demo["clinics"]["bondi-physio"]
    run = JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.RUNNING, params={})
    db.session.add(run)
    db.session.commit()
    ctx = RunContext(run)
    gate = threading.Event()

    def call(n: int) -> int:
        gate.wait(5)
        if n == 1:
            raise RuntimeError("Cliniko said no")
        return n * 10

    def finish(result: int) -> str:
        if result == 20:
            raise ItemSkipped("nothing to change")
        return f"done {result}"

    with ThreadPoolExecutor(max_workers=1) as pool:

        def handle(item: WorkItem) -> Deferred:
            n = int(item.ref)
            if n == 3:  # a cancel arrives while items 0-2 are still in flight
                db.session.execute(
                    update(JobRun).where(JobRun.id == run.id).values(cancel_requested=True)
                )
                db.session.commit()
                ctx._last_cancel_check = 0.0
                gate.set()
            return Deferred(pool.submit(call, n), finish)

        ctx.process([WorkItem(str(n)) for n in range(6)], handle)

    assert ctx.cancelled
    items = db.session.scalars(
        db.select(JobItem).where(JobItem.run_id == run.id).order_by(JobItem.id)
    ).all()
    assert [(i.ref, i.outcome, i.message) for i in items] == [
        ("0", "ok", "done 0"),
        ("1", "failed", "Cliniko said no"),
        ("2", "skipped", "nothing to change"),
        ("3", "ok", "done 30"),
    ]
    run = _fresh(run.id)
    assert (run.processed, run.ok_count, run.failed_count, run.skipped_count) == (4, 2, 1, 1)


def test_chunks_are_recorded_together_and_a_failing_chunk_goes_item_by_item(demo):
    """Work done many items at a time records each item's outcome; a chunk whose handler
    raises is done again one item at a time, so only the bad item fails."""
    from portal.models import ItemOutcome

    clinic = demo["clinics"]["bondi-physio"]
    run = JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.RUNNING, params={})
    db.session.add(run)
    db.session.commit()
    ctx = RunContext(run)
    chunks: list[list[str]] = []

    def chunk(items: list[WorkItem]) -> list[tuple[ItemOutcome, str]]:
        chunks.append([i.ref for i in items])
        if "5" in [i.ref for i in items]:
            raise RuntimeError("one bad item in this chunk")
        return [(ItemOutcome.OK, f"chunked {i.ref}") for i in items]

    def one(item: WorkItem) -> str:
        if item.ref == "5":
            raise RuntimeError("bad item")
        return f"alone {item.ref}"

    ctx.process_chunks([WorkItem(str(n)) for n in range(7)], chunk, 3, one)
    run = _fresh(run.id)
    assert chunks == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert (run.total, run.processed, run.ok_count, run.failed_count) == (7, 7, 6, 1)
    messages = dict(db.session.execute(db.select(JobItem.ref, JobItem.message)).all())
    assert [messages[r] for r in "0356"] == ["chunked 0", "alone 3", "bad item", "chunked 6"]


def test_a_cancel_seen_in_one_phase_stops_the_next_at_once(demo):
    """A run of several phases that saw the cancel in the first handles nothing in the next, even
    within the quarter second in which it does not look again."""
    clinic = demo["clinics"]["bondi-physio"]
    run = JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.RUNNING, params={})
    db.session.add(run)
    db.session.commit()
    ctx = RunContext(run)
    handled: list[str] = []

    def handle(item: WorkItem) -> str:
        handled.append(item.ref)
        if item.ref == "a1":
            db.session.execute(
                update(JobRun).where(JobRun.id == run.id).values(cancel_requested=True)
            )
            db.session.commit()
            ctx._last_cancel_check = 0.0  # the next check looks
        return "done"

    ctx.process([WorkItem(f"a{n}") for n in range(3)], handle)
    assert ctx.cancelled
    ctx.process([WorkItem(f"b{n}") for n in range(3)], handle)  # the check was just made
    assert handled == ["a0", "a1"]
