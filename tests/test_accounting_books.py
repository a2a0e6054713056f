"""Books that balance, against the sandbox over HTTP with a real worker: voucher sales and the
liability, open credit applied later, write-offs, invoices archived after a sync, customers
matched and kept aligned, the reviewed first sync, time zones, terms and rounding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from portal.clients.cliniko_models import InvoiceItem
from portal.extensions import db
from portal.jobs.schedule_tick import start_due_runs
from portal.models import (
    AccountingSchedule,
    Clinic,
    JobRun,
    JobStatus,
    LiabilityCheck,
    SyncState,
    Voucher,
)
from portal.models.types import utcnow
from portal.services.accounting import customers as accounting_customers
from portal.services.accounting import map as m
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
from tests.fixtures.connections import BONDI


def _control(sandbox, path: str, **body):
    answer = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _by_ref(coll) -> dict[str, dict]:
    return {r["reference"]: r for r in coll.values() if r.get("reference")}


def _balances(sandbox, accounts) -> dict[str, Decimal]:
    from portal.sandbox.reckon import ledger

    b = book(sandbox, accounts)
    computed = ledger.balances(b)
    return {a["name"]: computed[a["id"]] for a in b.ledgeraccounts.values()}


def _service(sandbox, accounts) -> dict:
    rows = cliniko_account(sandbox, accounts).table("billable_items")
    return next(r for r in rows if r["item_type"] == "Service" and r["price"] < 150)


def _product(sandbox, accounts) -> dict:
    return next(iter(cliniko_account(sandbox, accounts).table("products")))


def _today(sandbox) -> str:
    return sandbox.world.clock.now().date().isoformat()


@pytest.fixture
def vouchers_linked(linked_clinic, post, run_worker):
    """Bondi with VaocherApp linked too."""
    key = linked_clinic["accounts"]["vaocherapp"]["api_key"]
    assert post(f"{BONDI}/vaocherapp", {"api_key": key}).status_code == 303
    return linked_clinic


@pytest.fixture
def fresh_books(vouchers_linked, sandbox, post, run_worker):
    """Only what the test makes: VaocherApp's seeded vouchers gone, Cliniko synced from today."""
    sandbox.world.clinics[0].vaocherapp.live.vouchers.clear()
    clinic = vouchers_linked["clinic"]
    configure(clinic, sync_from=date.fromisoformat(_today(sandbox)))
    return vouchers_linked


def _sell_and_provision(sandbox, accounts, post, run_worker, value=15000) -> Voucher:
    bought = _control(
        sandbox,
        "vaocherapp/purchase",
        api_key=accounts["vaocherapp"]["api_key"],
        value=value,
        purchaser_name="Grace Lee",
        purchaser_email="grace.lee@example.com",
    )
    post(f"{BONDI.replace('/connections', '')}/vouchers/backfill")
    run_worker()
    db.session.expire_all()
    voucher = db.session.scalar(db.select(Voucher).where(Voucher.code == bought["code"]))
    assert voucher is not None
    assert voucher.cliniko_patient_id, "provisioning made the patient and billable item"
    return voucher


def test_voucher_over_treatment_credit_applied_later_and_liability_matches(
    fresh_books, sandbox, post, run_worker
):
    clinic, accounts = fresh_books["clinic"], fresh_books["accounts"]
    voucher = _sell_and_provision(sandbox, accounts, post, run_worker)
    service, key = _service(sandbox, accounts), accounts["cliniko"]["api_key"]
    price = money(service["price"])
    first = _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=voucher.cliniko_patient_id,
        items=[{"billable_item_id": service["id"]}, {"item_code": voucher.code}],
        issue_date=_today(sandbox),
    )
    assert first["status"] == 40  # the voucher is worth more than the treatment
    _control(
        sandbox,
        "vaocherapp/redeem",
        api_key=accounts["vaocherapp"]["api_key"],
        code=voucher.code,
        amount=15000,
        reason="Cliniko invoice",
    )
    second = _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=voucher.cliniko_patient_id,
        items=[{"billable_item_id": service["id"]}],
        issue_date=_today(sandbox),
        paid=True,  # paid in Cliniko, from the account credit first
    )
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    b = book(sandbox, accounts)
    invoices, notes = _by_ref(b.invoices), _by_ref(b.creditnotes)
    one = invoices[f"CLINIKO-INV-{first['number']}"]
    assert (money(one["totalAmount"]), one["status"]) == (0, "Paid")
    voucher_lines = [
        ln for ln in one["lineItems"] if ln["itemDetails"]["item"]["name"] == "Gift voucher"
    ]
    assert voucher_lines
    assert voucher.code in voucher_lines[0]["description"]
    credit = notes[f"CLINIKO-CR-{first['number']}"]
    excess = Decimal("150.00") - price
    assert money(credit["totalAmount"]) == excess
    assert money(credit["balance"]) == 0  # all applied to the next invoice
    two = invoices[f"CLINIKO-INV-{second['number']}"]
    assert (money(two["balance"]), two["status"]) == (0, "Paid")
    assert {ln["transactionType"] for ln in two["transactionLinks"]} == {"CreditNote", "Receipt"}
    receipt = _by_ref(b.receipts)[f"CLINIKO-PAY-{second['number']}"]
    assert money(receipt["totalAmount"]) == price - excess
    sale = _by_ref(b.receipts)[f"VOUCHER-SALE-{voucher.code}"]
    assert sale["ledgerAccount"]["name"] == "VaocherApp Clearing"
    assert sale["lineItems"][0]["taxRate"]["name"] == "N-T"
    assert sale["receiptDate"].startswith(voucher.purchased_at.astimezone().date().isoformat()[:4])
    balances = _balances(sandbox, accounts)
    assert balances["Gift Voucher Liability"] == 0  # sold 150, used 150 (invoice + credit)
    assert balances["VaocherApp Clearing"] == 150
    db.session.expire_all()
    check = db.session.scalar(db.select(LiabilityCheck).order_by(LiabilityCheck.id.desc()))
    assert check is not None
    assert (check.reckon_balance, check.outstanding, check.details["vouchers"]) == (
        "0.00",
        "0.00",
        [],
    )
    seq = last_seq(sandbox)
    again = run_job(clinic, run_worker)
    assert again.status == JobStatus.SUCCEEDED, again.message
    assert writes(sandbox, seq) == []

    report = run_job(
        clinic, run_worker, "accounting.report", start=_today(sandbox), end=_today(sandbox)
    )
    assert report.status == JobStatus.SUCCEEDED, report.message
    from portal.models import MismatchReport

    row = db.session.scalar(db.select(MismatchReport).order_by(MismatchReport.id.desc()))
    assert row.open_count == 0, [(ln.kind, ln.reference, ln.message) for ln in _lines(row)]
    assert all(s["agrees"] for s in row.summary["sections"].values())


def _lines(report):
    from portal.models import MismatchLine

    return db.session.scalars(db.select(MismatchLine).where(MismatchLine.report_id == report.id))


def test_seeded_vouchers_sales_posted_once_and_liability_differences_by_voucher(
    vouchers_linked, sandbox, post, run_worker
):
    clinic, accounts = vouchers_linked["clinic"], vouchers_linked["accounts"]
    post(f"{BONDI.replace('/connections', '')}/vouchers/backfill")
    run_worker()
    configure(clinic)
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    known = list(db.session.scalars(db.select(Voucher)))
    sales = {
        r["reference"]: r
        for r in book(sandbox, accounts).receipts.values()
        if r["reference"].startswith("VOUCHER-SALE-")
    }
    for v in known:
        ref = f"VOUCHER-SALE-{v.code}"
        if v.status == "voided":
            assert ref not in sales
        else:
            assert money(sales[ref]["totalAmount"]) == Decimal(v.value_cents) / 100
    check = db.session.scalar(db.select(LiabilityCheck).order_by(LiabilityCheck.id.desc()))
    assert money(check.reckon_balance) == _balances(sandbox, accounts)["Gift Voucher Liability"]
    remote = sandbox.world.clinics[0].vaocherapp.live.vouchers.values()
    now = sandbox.world.clock.now()
    expected = sum(v.remain_balance for v in remote if v.status_at(now) != "voided") / 100
    assert money(check.outstanding) == money(expected)
    differences = {d["code"]: d for d in check.details["vouchers"]}
    assert differences  # used in Cliniko but not redeemed in VaocherApp, and the reverse
    assert sum(money(d["vaocherapp"]) - money(d["reckon"]) for d in differences.values()) == (
        money(check.outstanding) - money(check.reckon_balance)
    )
    seq = last_seq(sandbox)
    assert run_job(clinic, run_worker).status == JobStatus.SUCCEEDED
    assert writes(sandbox, seq) == []


def test_breakage_moves_an_expired_balance_to_income(vouchers_linked, sandbox, post, run_worker):
    clinic, accounts = vouchers_linked["clinic"], vouchers_linked["accounts"]
    post(f"{BONDI.replace('/connections', '')}/vouchers/backfill")
    run_worker()
    configure(clinic, breakage=True)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    expired = [v for v in db.session.scalars(db.select(Voucher)) if v.status == "expired"]
    assert expired
    released = _by_ref(book(sandbox, accounts).invoices)
    for v in expired:
        inv = released[f"VOUCHER-EXPIRED-{v.code}"]
        assert money(inv["totalAmount"]) == 0
    assert _balances(sandbox, accounts)["Voucher Breakage"] == sum(
        Decimal(v.balance_cents) / 100 for v in expired
    )


def test_write_off_reverses_gst_in_proportion(fresh_books, sandbox, run_worker):
    clinic, accounts = fresh_books["clinic"], fresh_books["accounts"]
    patient = next(iter(cliniko_account(sandbox, accounts).table("patients")))
    made = _control(
        sandbox,
        "cliniko/invoices",
        api_key=accounts["cliniko"]["api_key"],
        patient_id=patient["id"],
        items=[
            {"billable_item_id": _service(sandbox, accounts)["id"]},
            {"product_id": _product(sandbox, accounts)["id"]},
        ],
        issue_date=_today(sandbox),
    )
    sandbox.world.clock.advance(86400 * 3)
    _control(
        sandbox, f"cliniko/invoices/{made['id']}/write-off", api_key=accounts["cliniko"]["api_key"]
    )
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    b = book(sandbox, accounts)
    inv = _by_ref(b.invoices)[f"CLINIKO-INV-{made['number']}"]
    note = _by_ref(b.creditnotes)[f"CLINIKO-WO-{made['number']}"]
    assert money(note["totalAmount"]) == money(inv["totalAmount"])
    assert money(note["totalTaxAmount"]) == money(inv["totalTaxAmount"])  # all GST reversed
    assert {ln["taxRate"]["name"] for ln in note["lineItems"]} == {"FRE", "GST"}
    assert money(inv["balance"]) == 0
    assert note["creditNoteDate"][:10] > inv["invoiceDate"][:10]  # dated the write-off day
    assert _balances(sandbox, accounts)["GST Collected"] == 0


def test_invoice_archived_after_sync_is_reversed(fresh_books, sandbox, run_worker):
    clinic, accounts = fresh_books["clinic"], fresh_books["accounts"]
    patient = next(iter(cliniko_account(sandbox, accounts).table("patients")))
    key = accounts["cliniko"]["api_key"]
    made = _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=patient["id"],
        items=[{"product_id": _product(sandbox, accounts)["id"], "quantity": 3}],
        issue_date=_today(sandbox),
    )
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    sandbox.world.clock.advance(3600)
    _control(sandbox, f"cliniko/invoices/{made['id']}/archive", api_key=key)
    assert run_job(clinic, run_worker).status == JobStatus.SUCCEEDED
    b = book(sandbox, accounts)
    inv = _by_ref(b.invoices)[f"CLINIKO-INV-{made['number']}"]
    note = _by_ref(b.creditnotes)[f"CLINIKO-REV-{made['number']}"]
    assert money(note["totalAmount"]) == money(inv["totalAmount"])
    assert money(note["totalTaxAmount"]) == money(inv["totalTaxAmount"])
    assert (money(inv["balance"]), note["status"]) == (0, "Closed")
    seq = last_seq(sandbox)
    assert run_job(clinic, run_worker).status == JobStatus.SUCCEEDED
    assert writes(sandbox, seq) == []


def _reckon_customer(sandbox, accounts, name, email=None):
    from tests.sandbox.reckon_helpers import new_session

    session = new_session()
    token = session.post(
        f"{sandbox.url}/_sandbox/reckon/token",
        json={"book_id": accounts["reckon"]["book_id"]},
        timeout=5,
    ).json()["access_token"]
    body = {"name": name}
    if email:
        body["electronicAddresses"] = [{"type": "Email", "address": email}]
    key = sandbox.world.reckon.app_credentials["subscription_key"]
    answer = session.post(
        f"{sandbox.url}/reckon/r1/v2/{accounts['reckon']['book_id']}/customers",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": key},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.mark.parametrize("matching", ["one read of the book", "a lookup per patient"])
def test_existing_customers_matched_decisions_and_removals(
    linked_clinic, sandbox, run_worker, post, client, monkeypatch, matching
):
    if matching == "a lookup per patient":  # as for a book with more customers than is cheap
        monkeypatch.setattr(accounting_customers, "PER_PAGE", 0)
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    cliniko = cliniko_account(sandbox, accounts)
    invoiced = {i["patient_id"] for i in cliniko.table("invoices") if not i["archived_at"]}
    patients = [p for p in cliniko.table("patients") if p["id"] in invoiced and p.get("email")]
    known, shared = patients[0], patients[1:3]
    existing = _reckon_customer(
        sandbox, accounts, f"{known['first_name']} {known['last_name']}", known["email"]
    )
    for p in shared:  # two patients now share one email that an unrelated customer also has
        cliniko.table("patients").update(p, {"email": "family@example.com"})
    _reckon_customer(sandbox, accounts, "The Family Account", "family@example.com")
    configure(clinic)
    seq = last_seq(sandbox)
    run = run_job(clinic, run_worker, full=True)
    log = [e for e in sandbox.requests_log("reckon") if e["seq"] > seq]
    searches = [e for e in log if e["path"].endswith("/customers") and "filter=" in e["query"]]
    assert bool(searches) == (matching == "a lookup per patient")
    by_id = {r.cliniko_id: r for r in records("customer")}
    assert by_id[known["id"]].reckon_id == existing  # linked, not duplicated
    names = [c["name"] for c in book(sandbox, accounts).customers.values()]
    assert len(names) == len(set(names))
    assert not [n for n in names if n.startswith(known["first_name"]) and "(" in n]
    undecided = [by_id[p["id"]] for p in shared]
    assert all(r.state == SyncState.NEEDS_DECISION for r in undecided)
    assert run.status == JobStatus.PARTIAL  # their invoices wait for the decision
    page = client.get("/c/bondi-physio/accounting/").get_data(as_text=True)
    assert "Needs a decision" in page
    assert "The Family Account" in page
    post(
        f"/c/bondi-physio/accounting/decisions/{undecided[0].id}",
        {"choice": undecided[0].details["candidates"][0]["id"]},
    )
    post(f"/c/bondi-physio/accounting/decisions/{undecided[1].id}", {"choice": "new"})
    run = run_job(clinic, run_worker)
    assert run.status == JobStatus.SUCCEEDED, run.message
    by_id = {r.cliniko_id: r for r in records("customer")}
    assert by_id[shared[0]["id"]].reckon_id == undecided[0].details["candidates"][0]["id"]
    assert by_id[shared[1]["id"]].reckon_id not in (None, by_id[shared[0]["id"]].reckon_id)

    sandbox.world.clock.advance(600)
    row = cliniko.table("patients").get(known["id"])
    cliniko.table("patients").update(
        row, {"email": None, "patient_phone_numbers": [], "updated_at": sandbox.world.clock.now()}
    )
    assert run_job(clinic, run_worker).status == JobStatus.SUCCEEDED
    customer = book(sandbox, accounts).customers.get(existing)
    assert customer["electronicAddresses"] == []
    assert customer["phoneNumbers"] == []


def test_nothing_is_written_before_a_preview_is_approved(
    linked_clinic, sandbox, run_worker, login, post
):
    clinic, _accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    configure(clinic, approved=False)
    seq = last_seq(sandbox)
    refused = run_job(clinic, run_worker)
    assert refused.status == JobStatus.FAILED
    assert "preview" in refused.message
    schedule = AccountingSchedule(
        clinic_id=clinic.id, kind="accounting.sync", next_run_at=utcnow() - timedelta(minutes=1)
    )
    db.session.add(schedule)
    db.session.commit()
    assert start_due_runs(utcnow()) == []  # the scheduled sync skips the clinic
    preview = run_job(clinic, run_worker, "accounting.preview")
    assert preview.status == JobStatus.SUCCEEDED, preview.message
    assert writes(sandbox, seq) == []
    assert records("invoice") == []  # nothing stored as synced either
    from portal.models import AccountingPreview

    row = db.session.scalar(db.select(AccountingPreview))
    assert row.status == "ready"
    assert row.summary["actions"]["invoice create"] > 0
    assert row.summary["actions"]["credit_note write off"] >= 1
    assert row.summary["totals"]
    assert (
        post(
            f"/c/bondi-physio/accounting/previews/{row.id}/approve", {"confirmed": "1"}
        ).status_code
        == 303
    )
    schedule = db.session.get(AccountingSchedule, schedule.id)
    schedule.next_run_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    started = start_due_runs(utcnow())
    assert len(started) == 1
    run_worker()
    db.session.expire_all()
    assert db.session.get(JobRun, started[0]).status == JobStatus.SUCCEEDED
    assert len(writes(sandbox, seq)) > 0


def test_perth_clinic_dates_payments_locally_and_terms_are_sent(
    demo, login, post, client, sandbox, bondi_accounts, run_worker
):
    from tests.fixtures.connections import connect_reckon

    cliniko = cliniko_account(sandbox, bondi_accounts)
    for business in cliniko.table("businesses"):
        cliniko.table("businesses").update(business, {"time_zone_identifier": "Australia/Perth"})
    login("manager@example.com")
    assert (
        post(f"{BONDI}/cliniko", {"api_key": bondi_accounts["cliniko"]["api_key"]}).status_code
        == 303
    )
    connect_reckon(post, client, bondi_accounts["reckon"]["book_id"])
    clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == "bondi-physio"))
    assert clinic.timezone == "Australia/Perth"  # read from Cliniko when linking
    configure(clinic, payment_terms="Net 14 days", sync_from=date(2026, 6, 1))
    patient = next(iter(cliniko.table("patients")))
    key = bondi_accounts["cliniko"]["api_key"]
    made = _control(
        sandbox,
        "cliniko/invoices",
        api_key=key,
        patient_id=patient["id"],
        items=[{"billable_item_id": _service(sandbox, bondi_accounts)["id"]}],
        issue_date="2026-06-30",
    )
    # 22:30 in Perth on 30 June is 00:30 on 1 July in Sydney: the payment stays in June.
    _control(sandbox, "clock", now=datetime(2026, 6, 30, 14, 30, tzinfo=UTC).isoformat())
    _control(sandbox, f"cliniko/invoices/{made['id']}/pay", api_key=key)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    b = book(sandbox, bondi_accounts)
    receipt = _by_ref(b.receipts)[f"CLINIKO-PAY-{made['number']}"]
    assert receipt["receiptDate"].startswith("2026-06-30")
    invoice = _by_ref(b.invoices)[f"CLINIKO-INV-{made['number']}"]
    assert invoice["dueDate"].startswith("2026-07-14")
    assert invoice["paymentTerms"]["name"] == "Net 14 days"
    assert (
        post("/c/bondi-physio/accounting/timezone", {"timezone": "Australia/Adelaide"}).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Clinic, clinic.id).timezone == "Australia/Adelaide"


def test_prices_go_out_in_cents_with_clinikos_total():
    item = InvoiceItem.from_json(
        {
            "id": "1",
            "name": "Consult",
            "quantity": 1,
            "unit_price": "81.818",
            "tax_rate": 10,
            "total_including_tax": 90,
            "net_price": "81.818",
            "billable_item": {"links": {"self": "https://x/v1/billable_items/5"}},
            "invoice": {"links": {"self": "https://x/v1/invoices/9"}},
        }
    )
    line, tax = m.line_for(item, "r-1", "GST", Decimal(10))
    assert line.price == Decimal("90.00")
    assert m.cents(line.price * line.quantity) - line.discount == Decimal("90.00")
    assert tax == Decimal("8.18")


def test_a_patient_claimed_by_a_run_that_died_is_still_matched(
    linked_clinic, sandbox, run_worker, monkeypatch, app
):
    from portal.services.accounting import push as accounting_push

    monkeypatch.setitem(app.config, "ACCOUNTING_WRITES_IN_FLIGHT", 1)  # the crash is in _write

    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    cliniko = cliniko_account(sandbox, accounts)
    invoiced = {i["patient_id"] for i in cliniko.table("invoices") if not i["archived_at"]}
    known = next(p for p in cliniko.table("patients") if p["id"] in invoiced and p.get("email"))
    existing = _reckon_customer(
        sandbox, accounts, f"{known['first_name']} {known['last_name']}", known["email"]
    )
    configure(clinic)
    real = accounting_push._write
    died = []

    def die_after_a_create(rec, push, checkpoint):
        if rec.kind == "customer" and not died and rec.cliniko_id != known["id"]:
            create = push.create

            def create_then_die():
                create()
                died.append(rec.cliniko_id)
                db.session.rollback()  # killed: only the claim was committed
                raise SystemExit("worker died")

            push = accounting_push.Push(push.body, push.find, create_then_die, push.update)
        return real(rec, push, checkpoint)

    monkeypatch.setattr(accounting_push, "_write", die_after_a_create)
    first = run_job(clinic, run_worker, full=True)
    assert died, first.message
    assert first.status != JobStatus.SUCCEEDED
    monkeypatch.setattr(accounting_push, "_write", real)
    assert run_job(clinic, run_worker, full=True).status == JobStatus.SUCCEEDED
    by_id = {r.cliniko_id: r for r in records("customer")}
    assert by_id[known["id"]].reckon_id == existing  # matched, not created as a namesake
    customers = book(sandbox, accounts).customers.values()
    ours = [c for c in customers if c.get("notes") == f"Cliniko patient {died[0]}"]
    assert len(ours) == 1  # the one created before the crash was found, not created again


@pytest.mark.parametrize("in_flight", [1, 4])
def test_a_customer_made_for_another_patient_is_never_theirs_and_a_taken_name_is_told_apart(
    linked_clinic, sandbox, run_worker, app, monkeypatch, in_flight
):
    monkeypatch.setitem(app.config, "ACCOUNTING_WRITES_IN_FLIGHT", in_flight)
    clinic, accounts = linked_clinic["clinic"], linked_clinic["accounts"]
    cliniko = cliniko_account(sandbox, accounts)
    invoiced = {i["patient_id"] for i in cliniko.table("invoices") if not i["archived_at"]}
    patients = [p for p in cliniko.table("patients") if p["id"] in invoiced and p.get("email")]
    other, patient = patients[0], patients[-1]  # the other patient is sent first
    name = f"{patient['first_name']} {patient['last_name']}"
    # The same name and email as the patient, but made by the portal for the other patient (as
    # when that patient's create is still on its way back while this one is matched).
    theirs = _reckon_customer(sandbox, accounts, name, patient["email"])
    book(sandbox, accounts).customers.get(theirs)["notes"] = f"Cliniko patient {other['id']}"
    configure(clinic)
    run = run_job(clinic, run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    rec = {r.cliniko_id: r for r in records("customer")}[patient["id"]]
    assert rec.reckon_id != theirs  # never merged with another patient's customer
    made = book(sandbox, accounts).customers.get(rec.reckon_id)
    assert made["name"] != name  # Reckon refused the plain name: the mark tells them apart
    assert made["name"].startswith(name)
    assert rec.details.get("name_told_apart")
