"""Contract tests for the Reckon emulator's books: credit notes and their links, receipts coded to
accounts, ledger balances, payment terms and customer search by email."""

from __future__ import annotations

from tests.sandbox.reckon_helpers import account_line, customer, invoice, receipt_body


def _balances(api) -> dict[str, float]:
    rows = api.call("GET", "ledgeraccounts", params={"perpage": 100}).json()["list"]
    return {r["name"]: r["balance"] for r in rows}


def _credit_note(api, customer_id, lines, approve=True, **fields) -> dict:
    body = {
        "customer": customer_id,
        "creditNoteDate": "2024-05-03T00:00:00Z",
        "amountTaxStatus": "Inclusive",
        "lineItems": [{"lineNumber": n, **line} for n, line in enumerate(lines, start=1)],
        **fields,
    }
    note_id = api.create("creditNotes", body)
    if approve:
        assert api.patch(f"creditNotes/{note_id}", {"status": "Approved"}).status_code == 204
    return dict(api.call("GET", f"creditnotes/{note_id}").json())


def test_credit_note_is_draft_then_approved_and_applied_to_an_invoice(api):
    jane = customer(api)
    inv = invoice(api, jane, [account_line(110)])
    draft = _credit_note(api, jane, [account_line(44)], approve=False)
    assert (draft["status"], draft["creditNoteNumber"]) == ("Draft", "CN0001")
    link = {"transactionId": inv["id"], "transactionAmount": 44, "transactionType": "Invoice"}
    refused = api.call("POST", f"creditNotes/{draft['id']}/transactionLinks", json=link)
    assert refused.status_code == 400  # a Draft cannot be applied
    api.patch(f"creditNotes/{draft['id']}", {"status": "Approved"})
    made = api.call("POST", f"creditNotes/{draft['id']}/transactionLinks", json=link)
    assert made.status_code == 201, made.text
    note = api.call("GET", f"creditnotes/{draft['id']}").json()
    after = api.call("GET", f"invoices/{inv['id']}").json()
    assert (note["balance"], note["status"], after["balance"]) == (0, "Closed", 66)
    assert after["transactionLinks"][0]["transactionType"] == "CreditNote"
    assert api.call("GET", "customers/" + jane).json()["balance"] == 66
    too_much = {**link, "transactionAmount": 1}
    assert (
        api.call("POST", f"creditNotes/{draft['id']}/transactionLinks", json=too_much).status_code
        == 400
    )
    gone = api.call("DELETE", f"creditNotes/{draft['id']}/transactionlinks/{made.json()['id']}")
    assert gone.status_code == 204
    assert api.call("GET", f"invoices/{inv['id']}").json()["balance"] == 110


def test_unapplied_credit_lowers_the_customer_balance_and_found_by_reference(api):
    jane = customer(api)
    _credit_note(api, jane, [account_line(20, "N-T", "Gift Voucher Liability")], reference="X-1")
    assert api.call("GET", "customers/" + jane).json()["balance"] == -20
    found = api.call("GET", "creditnotes", params={"filter": "reference eq 'X-1'"}).json()["list"]
    assert len(found) == 1


def test_negative_invoice_is_refused(api):
    jane = customer(api)
    body = {
        "customer": jane,
        "invoiceDate": "2024-05-01T00:00:00Z",
        "amountTaxStatus": "Inclusive",
        "lineItems": [{"lineNumber": 1, **account_line(-5, "N-T")}],
    }
    assert api.call("POST", "invoices", json=body).status_code == 400


def test_ledger_balances_follow_invoices_receipts_and_credit_notes(api):
    jane = customer(api)
    inv = invoice(api, jane, [account_line(110, "GST", "Sales - Products")])
    api.create("receipts", receipt_body(jane, [(inv["id"], 110)], 110))
    sale = {
        "customer": jane,
        "receiptDate": "2024-05-02T00:00:00Z",
        "totalAmount": 150,
        "ledgerAccount": "VaocherApp Clearing",
        "lineItems": [{"lineNumber": 1, **account_line(150, "N-T", "Gift Voucher Liability")}],
    }
    api.create("receipts", sale)
    _credit_note(api, jane, [account_line(30, "N-T", "Gift Voucher Liability")])
    got = _balances(api)
    assert got["Sales - Products"] == 100
    assert got["GST Collected"] == 10
    assert got["Cliniko Clearing"] == 110
    assert got["VaocherApp Clearing"] == 150
    assert got["Gift Voucher Liability"] == 120
    assert got["Accounts Receivable"] == -30  # the credit note is owed to Jane


def test_terms_give_due_dates(api):
    terms = {t["name"]: t for t in api.call("GET", "terms").json()["list"]}
    assert terms["Due on receipt"]["isDefault"]
    jane = customer(api)
    plain = invoice(api, jane, [account_line(10)])
    assert plain["dueDate"] == plain["invoiceDate"]
    net14 = invoice(api, jane, [account_line(10)], paymentTerms="Net 14 days")
    assert net14["dueDate"].startswith("2024-05-15")
    assert net14["paymentTerms"]["name"] == "Net 14 days"
    due = api.call("GET", f"terms/{terms['20th of next month']['id']}/duedate/basedate/2024-12-05")
    assert due.json()["dueDate"].startswith("2025-01-20")
    bob = customer(api, "Bob", paymentTerms="Net 7 days")
    assert invoice(api, bob, [account_line(10)])["dueDate"].startswith("2024-05-08")


def test_customers_found_by_email(api):
    email = [{"type": "Email", "address": "jane@example.com"}]
    jane = customer(api, "Jane Citizen", electronicAddresses=email)
    customer(api, "Someone Else")
    flt = "electronicAddresses.address eq 'jane@example.com'"
    found = api.call("GET", "customers", params={"filter": flt}).json()["list"]
    assert [c["id"] for c in found] == [jane]
    flt = "tolower(electronicAddresses.address) eq 'jane@example.com'"
    assert len(api.call("GET", "customers", params={"filter": flt}).json()["list"]) == 1
