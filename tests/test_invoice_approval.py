"""How a synced invoice is left Approved: one call where the book has no approval process, a
create and an approve where it has one, and never a Draft left behind when Reckon does not do
what its setting says."""

from __future__ import annotations

import re

from portal.models import JobStatus
from portal.sandbox.reckon import assumptions
from tests.accounting_helpers import book, configure, run_job, writes

ONE_INVOICE = re.compile(r"/invoices/[^/]+$")


def _invoices(sandbox, accounts):
    return [
        i
        for i in book(sandbox, accounts).invoices.values()
        if (i.get("reference") or "").startswith("CLINIKO-INV-")
    ]


def _sync(linked_clinic, run_worker, sandbox):
    """A full first sync; what it wrote to Reckon's invoices and what it read of its settings."""
    configure(linked_clinic["clinic"])
    run = run_job(linked_clinic["clinic"], run_worker, full=True)
    assert run.status == JobStatus.SUCCEEDED, run.message
    sent = writes(sandbox)
    creates = [w for w in sent if w["method"] == "POST" and w["path"].endswith("/invoices")]
    approves = [w for w in sent if w["method"] == "PATCH" and ONE_INVOICE.search(w["path"])]
    settings = [r for r in sandbox.requests_log() if r["path"].endswith("/settings/invoice")]
    return creates, approves, settings


def test_without_the_approval_process_each_invoice_is_one_call(linked_clinic, run_worker, sandbox):
    accounts = linked_clinic["accounts"]
    assert book(sandbox, accounts).invoice_approval is False
    creates, approves, settings = _sync(linked_clinic, run_worker, sandbox)
    assert creates
    assert approves == []
    assert len(settings) == 1  # read once per run, when the first invoice is created
    assert {i["status"] for i in _invoices(sandbox, accounts)} <= {"Approved", "Paid"}


def test_under_the_approval_process_each_invoice_is_created_then_approved(
    linked_clinic, run_worker, sandbox
):
    accounts = linked_clinic["accounts"]
    book(sandbox, accounts).invoice_approval = True
    creates, approves, _ = _sync(linked_clinic, run_worker, sandbox)
    assert creates
    assert len(approves) == len(creates)
    assert {i["status"] for i in _invoices(sandbox, accounts)} <= {"Approved", "Paid"}


def test_a_draft_where_the_setting_promised_none_is_approved_and_so_is_every_later_one(
    linked_clinic, run_worker, sandbox, monkeypatch
):
    """The setting says no approval process, yet Reckon makes drafts: the first invoice is read
    back, found a Draft and approved; from then on every invoice is approved too."""
    monkeypatch.setattr(assumptions, "APPROVAL_SETTING_HONOURED", False)
    accounts = linked_clinic["accounts"]
    creates, approves, _ = _sync(linked_clinic, run_worker, sandbox)
    assert creates
    assert len(approves) == len(creates)
    statuses = {i["status"] for i in _invoices(sandbox, accounts)}
    assert "Draft" not in statuses
    assert statuses <= {"Approved", "Paid"}
