"""The accounting sync against the sandbox over real HTTP, with a real RQ worker and database."""

from __future__ import annotations

import threading
import time
from collections import Counter
from decimal import Decimal
from urllib.parse import unquote

import pytest
import requests

from portal.clients.cliniko import ClinikoClient
from portal.clients.errors import Unavailable
from portal.clients.reckon import ReckonClient
from portal.extensions import db
from portal.jobs.queue import Priority, get_queue
from portal.jobs.start import retry_failed_later
from portal.models import JobItem, JobRun, JobStatus, RetryMode, SyncState
from portal.services.accounting import push as accounting_push
from portal.services.accounting import source as accounting_source
from tests.accounting_helpers import (
    book,
    cliniko_account,
    configure,
    last_seq,
    money,
    records,
    run_job,
    writes,
)


@pytest.fixture
def synced(linked_clinic, run_worker):
    """A configured clinic after one full sync."""
    clinic = linked_clinic["clinic"]
    configure(clinic)
    run = run_job(clinic, run_worker, full=True)
    return {**linked_clinic, "run": run}


def _cliniko_invoices(sandbox, accounts):
    return list(cliniko_account(sandbox, accounts).table("invoices"))


def _reckon_by_ref(sandbox, accounts):
    return {
        i["reference"]: i
        for i in book(sandbox, accounts).invoices.values()
        if (i.get("reference") or "").startswith("CLINIKO-INV-")
    }


def _posted(sandbox, accounts):
    """Every invoice that belongs in Reckon: all statuses, archived ones excepted."""
    return [i for i in _cliniko_invoices(sandbox, accounts) if not i["archived_at"]]


def test_full_sync_matches_cliniko_to_the_cent(synced, sandbox):
    accounts = synced["accounts"]
    assert synced["run"].status == JobStatus.SUCCEEDED, _debug_failures()
    reckon = _reckon_by_ref(sandbox, accounts)
    posted = _posted(sandbox, accounts)
    assert {i["status"] for i in posted} == {10, 20, 30, 40}
    for inv in posted:
        mirror = reckon[f"CLINIKO-INV-{inv['number']}"]
        assert money(mirror["totalAmount"]) == max(money(inv["total_amount"]), 0)
        assert money(mirror["totalTaxAmount"]) == money(inv["tax_amount"])
        assert mirror["status"] == ("Approved" if inv["status"] == 10 else "Paid")
    assert len(reckon) == len(posted)


def _new_cliniko_invoice(sandbox, accounts):
    """An invoice made in Cliniko now (a service for its first patient); its number."""
    base, session = sandbox.cliniko()
    patient = session.get(f"{base}/patients", timeout=10).json()["patients"][0]
    service = session.get(
        f"{base}/billable_items", params={"q[]": "item_type:=Service"}, timeout=10
    ).json()["billable_items"][0]
    body = {
        "api_key": accounts["cliniko"]["api_key"],
        "patient_id": patient["id"],
        "items": [{"billable_item_id": service["id"]}],
    }
    created = requests.post(f"{sandbox.url}/_sandbox/cliniko/invoices", json=body, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["number"]


def _line_reads(sandbox, since):
    """The first page of each read of invoice lines since `since`: the invoice ids it listed
    (None for a read of every line)."""
    reads = []
    for r in sandbox.requests_log("cliniko"):
        query = unquote(r["query"])
        if r["seq"] > since and r["path"].endswith("/invoice_items") and "&page=" not in query:
            listed = (
                query.split("invoice_id:=")[1].split("&")[0] if "invoice_id:=" in query else None
            )
            reads.append(listed.split(",") if listed else None)
    return reads


def test_invoice_lines_are_read_many_invoices_at_a_time(
    linked_clinic, run_worker, sandbox, monkeypatch
):
    """A first sync reads every line at once (pages of 100); a later run reads the lines of
    the invoices that changed many invoices at a time (`invoice_id:=1,2,…`), never one read
    per invoice and never every line the clinic ever had."""
    monkeypatch.setattr(accounting_source, "LINES_PER_READ", 2)  # several reads of a few
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    seq = last_seq(sandbox)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    assert _line_reads(sandbox, seq) == [None]
    numbers = [_new_cliniko_invoice(sandbox, accounts) for _ in range(4)]
    seq = last_seq(sandbox)
    assert run_job(clinic, run_worker).status == JobStatus.SUCCEEDED, _debug_failures()
    reads = _line_reads(sandbox, seq)
    assert len(reads) >= 2
    assert None not in reads
    assert all(len(ids) <= 2 for ids in reads)
    assert max(len(ids) for ids in reads) == 2
    in_reckon = _reckon_by_ref(sandbox, accounts)
    assert all(f"CLINIKO-INV-{n}" in in_reckon for n in numbers)


def test_every_status_is_in_the_books_with_its_credit_note(synced, sandbox):
    accounts = synced["accounts"]
    notes = {n["reference"]: n for n in book(sandbox, accounts).creditnotes.values()}
    invoices = _cliniko_invoices(sandbox, accounts)
    written_off = [i for i in invoices if i["status"] == 30 and not i["archived_at"]]
    open_credit = [i for i in invoices if i["status"] == 40 and not i["archived_at"]]
    assert written_off
    assert open_credit
    for inv in written_off:
        note = notes[f"CLINIKO-WO-{inv['number']}"]
        assert money(note["totalAmount"]) == money(inv["total_amount"])
        assert note["status"] == "Closed"  # applied to the invoice in full
        assert all(
            ln["accountDetails"]["ledgerAccount"]["name"] == "Bad Debts" for ln in note["lineItems"]
        )
    for inv in open_credit:
        note = notes[f"CLINIKO-CR-{inv['number']}"]
        assert money(note["totalAmount"]) == -money(inv["total_amount"])
        assert note["status"] == "Approved"
        assert money(note["balance"]) == money(note["totalAmount"])
    archived = [i for i in invoices if i["archived_at"]]
    assert archived
    by_id = {r.cliniko_id: r for r in records("invoice")}
    for inv in archived:  # archived before the first sync: nothing to post, nothing unsent
        assert by_id[inv["id"]].state == SyncState.SYNCED
        assert by_id[inv["id"]].details.get("never_sent")
    assert not [r for r in records("invoice") if r.state != SyncState.SYNCED]


def test_second_run_writes_nothing(synced, sandbox, run_worker):
    seq = last_seq(sandbox)
    again = run_job(synced["clinic"], run_worker)
    assert again.status == JobStatus.SUCCEEDED, again.message
    assert writes(sandbox, seq) == []


def test_invoice_paid_from_account_credit_is_closed_in_reckon(synced, sandbox, run_worker):
    accounts = synced["accounts"]
    open_one = next(
        i
        for i in _cliniko_invoices(sandbox, accounts)
        if i["status"] == 10 and not i["archived_at"]
    )
    sandbox.world.clock.advance(60)
    requests.post(
        f"{sandbox.url}/_sandbox/cliniko/invoices/{open_one['id']}/pay",
        json={"api_key": accounts["cliniko"]["api_key"]},
        timeout=5,
    ).raise_for_status()
    run = run_job(synced["clinic"], run_worker)
    assert run.status == JobStatus.SUCCEEDED, run.message
    mirror = _reckon_by_ref(sandbox, accounts)[f"CLINIKO-INV-{open_one['number']}"]
    assert mirror["status"] == "Paid"
    assert mirror["balance"] == 0
    receipts = [
        r
        for r in book(sandbox, accounts).receipts.values()
        if r.get("reference") == f"CLINIKO-PAY-{open_one['number']}"
    ]
    assert len(receipts) == 1
    assert receipts[0]["ledgerAccount"]["name"] == "Cliniko Clearing"


@pytest.mark.parametrize("kind", ["invoice", "customer", "credit_note", "item"])
@pytest.mark.parametrize("death", ["the run unwinds", "nothing more is committed"])
def test_crash_between_create_and_cross_reference_makes_no_duplicate(
    linked_clinic, sandbox, run_worker, monkeypatch, death, kind, app
):
    monkeypatch.setitem(app.config, "ACCOUNTING_WRITES_IN_FLIGHT", 1)  # one at a time
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    real = accounting_push._write
    crashes = Counter()

    def crash_after_create(rec, push, checkpoint):
        create = push.create

        def create_then_die():
            create()  # Reckon has the record; the worker dies before we record it
            crashes["n"] += 1
            if death == "nothing more is committed":  # killed: only the claim was committed
                db.session.rollback()
            raise SystemExit("worker died")

        if rec.kind == kind and not crashes["n"]:
            push = accounting_push.Push(push.body, push.find, create_then_die, push.update)
        return real(rec, push, checkpoint)

    monkeypatch.setattr(accounting_push, "_write", crash_after_create)
    first = run_job(clinic, run_worker, full=True)
    assert crashes["n"] == 1
    assert first.status != JobStatus.SUCCEEDED
    monkeypatch.setattr(accounting_push, "_write", real)
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    books = book(sandbox, accounts)
    refs = Counter(
        i["reference"]
        for i in books.invoices.values()
        if (i.get("reference") or "").startswith("CLINIKO-INV-")
    )
    assert refs
    assert max(refs.values()) == 1
    patients = Counter(c.get("notes") for c in books.customers.values())
    assert max(n for notes, n in patients.items() if (notes or "").startswith("Cliniko")) == 1
    notes = Counter(str(n.get("reference")) for n in books.creditnotes.values())
    assert notes
    assert max(notes.values()) == 1
    items = Counter(str(i.get("itemCode")) for i in books.items.values())
    assert max(items.values()) == 1
    synced = {r.cliniko_id: r.reckon_id for r in records("customer")}
    assert all(synced.values())
    assert len(set(synced.values())) == len(synced)


def test_writes_in_flight_at_once_and_a_death_among_them_makes_no_duplicate(
    linked_clinic, sandbox, run_worker, monkeypatch, app
):
    monkeypatch.setitem(app.config, "ACCOUNTING_WRITES_IN_FLIGHT", 4)
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    real = ReckonClient.create_invoice
    lock, calls, flying = threading.Lock(), Counter(), Counter()

    def slow_create(self, *args, **kwargs):
        with lock:
            calls["n"] += 1
            flying["now"] += 1
            flying["most"] = max(flying["most"], flying["now"])
            n = calls["n"]
        time.sleep(0.05)  # as if Reckon were across the internet
        try:
            new_id = real(self, *args, **kwargs)
        finally:
            with lock:
                flying["now"] -= 1
        if n == 5:
            raise SystemExit("worker died")  # Reckon has the invoice; we never hear of it
        return new_id

    monkeypatch.setattr(ReckonClient, "create_invoice", slow_create)
    first = run_job(clinic, run_worker, full=True)
    assert first.status != JobStatus.SUCCEEDED
    assert flying["most"] > 1  # several invoices were on their way at once
    monkeypatch.setattr(ReckonClient, "create_invoice", real)
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    books = book(sandbox, accounts)
    refs = Counter(str(i.get("reference")) for i in books.invoices.values())
    assert refs
    assert max(refs.values()) == 1
    linked = {r.reckon_id for r in records("invoice") if r.reckon_id}
    assert linked <= {i["id"] for i in books.invoices.values()}
    seq = last_seq(sandbox)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    assert writes(sandbox, seq) == []  # everything was recorded: nothing is sent again


def test_invoice_lines_read_beside_the_customers_and_no_invoice_goes_without_them(
    linked_clinic, sandbox, run_worker, monkeypatch
):
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    real = accounting_source.read_lines
    seen: dict[str, object] = {}

    def lines_then_cliniko_fails(cliniko, invoices, stopped, every=False):
        seen["thread"] = threading.current_thread().name
        time.sleep(0.5)  # long enough for customers to be sent meanwhile
        raise Unavailable("Cliniko is unreachable; try again later.", service="Cliniko")

    monkeypatch.setattr(accounting_source, "read_lines", lines_then_cliniko_fails)
    first = run_job(clinic, run_worker, full=True)
    assert seen["thread"] != threading.main_thread().name  # read on a thread of its own
    assert first.status == JobStatus.FAILED
    assert "Cliniko is unreachable" in first.message
    books = book(sandbox, accounts)
    assert books.customers  # sent while the lines were being read
    assert not [i for i in books.invoices.values() if str(i.get("reference")).startswith("CLINIKO")]
    monkeypatch.setattr(accounting_source, "read_lines", real)
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    refs = Counter(str(i.get("reference")) for i in book(sandbox, accounts).invoices.values())
    assert refs
    assert max(refs.values()) == 1


def test_reckon_outage_ends_partial_then_a_later_run_completes(
    linked_clinic, sandbox, run_worker, app, monkeypatch
):
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    # Keep the scheduled retry out of this test.
    monkeypatch.setitem(app.config, "ACCOUNTING_RETRY_BASE_SECONDS", 3600)
    outage = threading.Thread(target=_outage_after_invoices, args=(sandbox, 3), daemon=True)
    outage.start()  # Reckon goes down in the middle of the invoices phase
    first = run_job(clinic, run_worker, full=True)
    outage.join(timeout=5)
    assert first.status == JobStatus.PARTIAL, first.message
    assert any(r.state == SyncState.PENDING for r in records("invoice") + records("customer"))
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5).raise_for_status()
    second = run_job(clinic, run_worker)
    assert second.status == JobStatus.SUCCEEDED, second.message
    reckon = _reckon_by_ref(sandbox, accounts)
    issued = _posted(sandbox, accounts)
    assert sorted(reckon) == sorted(f"CLINIKO-INV-{i['number']}" for i in issued)
    paid = [i for i in issued if i["status"] == 20]
    assert all(reckon[f"CLINIKO-INV-{i['number']}"]["balance"] == 0 for i in paid)


def test_reckon_unreachable_before_the_first_record_is_retried_later(
    linked_clinic, sandbox, run_worker, app, monkeypatch
):
    clinic = linked_clinic["clinic"]
    configure(clinic)
    monkeypatch.setitem(app.config, "ACCOUNTING_RETRY_BASE_SECONDS", 60)
    outage = {"upstream": "reckon", "outage": True}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=outage, timeout=5).raise_for_status()
    first = run_job(clinic, run_worker)
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5).raise_for_status()
    assert first.status == JobStatus.FAILED
    assert "The unfinished work is retried automatically in 60 s." in first.message
    assert get_queue(Priority.INTERACTIVE).scheduled_job_registry.count == 1
    retry_failed_later(first.id)  # what the scheduler runs a minute later
    run_worker()
    db.session.expire_all()
    retry = db.session.scalars(db.select(JobRun).where(JobRun.parent_id == first.id)).one()
    assert retry.retry_mode == RetryMode.UNFINISHED
    assert retry.status == JobStatus.SUCCEEDED, retry.message
    assert retry.ok_count > 0


def _outage_after_invoices(sandbox, count: int) -> None:
    """Wait until the sync has created `count` invoices in Reckon, then take Reckon down."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = sandbox.world.requests.entries(upstream="reckon")
        made = [e for e in log if e["method"] == "POST" and e["path"].endswith("/invoices")]
        if len(made) >= count:
            break
        time.sleep(0.005)
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"upstream": "reckon", "outage": True}, timeout=5
    ).raise_for_status()


def _debug_failures():
    return [
        (i.label, i.message)
        for i in db.session.scalars(db.select(JobItem))
        if i.outcome == "failed"
    ]


def test_items_sharing_a_name_are_told_apart_and_a_second_run_leaves_them(
    linked_clinic, sandbox, run_worker
):
    """Reckon item names are unique; Cliniko lets a product and a service share one."""
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic)
    product = next(iter(cliniko_account(sandbox, accounts).table("products")))
    cliniko = ClinikoClient(
        accounts["cliniko"]["api_key"],
        app_name="tests",
        contact_email="t@example.com",
        base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
    )
    twin = cliniko.create_billable_item(product["name"], "TWIN-1", "Service", Decimal("10"))
    cliniko.close()
    first = run_job(clinic, run_worker, full=True)
    assert first.status == JobStatus.SUCCEEDED, _debug_failures()
    names = Counter(i["name"] for i in book(sandbox, accounts).items.values())
    told_apart = {n for n in names if n.startswith(product["name"])}
    assert len(told_apart) == 2  # the plain name and one with its Cliniko key
    assert {n for n in told_apart if n.endswith("]")} & {
        f"{product['name']} [bi-{twin.id}]",
        f"{product['name']} [pr-{product['id']}]",
    }

    seq = last_seq(sandbox)
    again = run_job(clinic, run_worker, full=True)  # reads every item again
    assert again.status == JobStatus.SUCCEEDED, again.message
    assert writes(sandbox, seq) == []


def test_keep_in_sync_is_cheap_when_nothing_changed_and_sends_a_change(synced, sandbox, run_worker):
    """A "keep in sync" run on an unchanged clinic reads a handful of Cliniko lists and asks
    Reckon nothing; an invoice added in Cliniko is in Reckon after the next one."""
    accounts = synced["accounts"]
    seq = last_seq(sandbox)
    quiet = run_job(synced["clinic"], run_worker, continuous=True)
    assert quiet.status == JobStatus.SUCCEEDED, quiet.message
    log = sandbox.world.requests.entries(since=seq)
    assert len([e for e in log if e["upstream"] == "cliniko"]) <= 6
    assert [e for e in log if e["upstream"].startswith("reckon")] == []
    number = _new_cliniko_invoice(sandbox, accounts)
    changed = run_job(synced["clinic"], run_worker, continuous=True)
    assert changed.status == JobStatus.SUCCEEDED, changed.message
    assert f"CLINIKO-INV-{number}" in _reckon_by_ref(sandbox, accounts)


def test_a_keep_in_sync_schedule_runs_every_n_minutes(linked_clinic, post):
    from datetime import timedelta

    from portal.jobs.schedule_tick import start_due_runs
    from portal.models import AccountingSchedule
    from portal.models.types import utcnow

    clinic = linked_clinic["clinic"]
    configure(clinic)
    form = {"kind": "accounting.sync", "accounting-sync-kind": "accounting.sync"}
    form |= {"accounting-sync-frequency": "minutes", "accounting-sync-every_minutes": "7"}
    form |= {"accounting-sync-local_time": "02:00", "accounting-sync-enabled": "y"}
    form |= {"accounting-sync-weekday": "0"}
    assert post("/c/bondi-physio/accounting/schedules", form).status_code == 303
    schedule = db.session.scalar(db.select(AccountingSchedule))
    assert (schedule.frequency, schedule.every_minutes) == ("minutes", 7)
    now = utcnow()
    assert abs(schedule.next_run_at - (now + timedelta(minutes=7))) < timedelta(seconds=30)
    [run_id] = start_due_runs(now + timedelta(minutes=8))
    run = db.session.get(JobRun, run_id)
    assert run.params == {"full": False, "continuous": True}
    db.session.refresh(schedule)
    assert schedule.next_run_at == now + timedelta(minutes=8) + timedelta(minutes=7)
