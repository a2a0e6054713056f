"""Contract tests for Reckon One invoices and receipts: tax to the cent, numbering, balances."""

from __future__ import annotations

import pytest

from tests.sandbox.reckon_helpers import (
    ReckonApi,
    account_line,
    customer,
    invoice,
    new_session,
    receipt_body,
    reckon_api,
)


@pytest.fixture
def jane(api) -> str:
    return customer(api, "Jane Citizen")


@pytest.fixture
def items(api) -> ReckonApi:
    """The §8 example's items: a GST-free consult and a taxable product."""
    api.create(
        "items",
        {
            "name": "Initial Consultation",
            "amountTaxStatus": "Inclusive",
            "sale": {"price": 95, "ledgerAccount": "Sales - Services", "taxRate": "FRE"},
        },
    )
    api.create(
        "items",
        {
            "name": "Theraband",
            "itemType": "Product",
            "amountTaxStatus": "Inclusive",
            "sale": {"price": 22, "ledgerAccount": "Sales - Products", "taxRate": "GST"},
        },
    )
    return api


def _item(name: str, price: float, quantity: float = 1, tax: str = "GST", **extra) -> dict:
    return {
        "itemDetails": {"item": name, "price": price, "quantity": quantity, **extra},
        "taxRate": tax,
    }


def test_example_invoice_totals_and_per_line_tax(items, jane):
    """reckon.md §8: the example invoice; 22.00 inclusive GST carries 2.00 tax, FRE none."""
    inv = invoice(
        items, jane, [_item("Initial Consultation", 95, tax="FRE"), _item("Theraband", 22)]
    )
    assert (inv["totalAmount"], inv["totalTaxAmount"], inv["balance"]) == (117.0, 2.0, 117.0)
    assert [line["taxAmount"] for line in inv["lineItems"]] == [0.0, 2.0]
    assert inv["lineItems"][1]["taxRate"]["name"] == "GST"
    assert inv["customer"] == {"id": jane, "name": "Jane Citizen"}


@pytest.mark.parametrize(
    ("gross", "quantity", "tax"),
    [(33.33, 1, 3.03), (10.00, 3, 2.73), (0.06, 1, 0.01), (1234.56, 1, 112.23)],
)
def test_inclusive_tax_is_gross_over_11_rounded_to_the_cent(items, jane, gross, quantity, tax):
    """reckon.md §8: Inclusive tax = round(gross/11, 2) at 10%."""
    inv = invoice(items, jane, [_item("Theraband", gross, quantity)])
    assert inv["totalTaxAmount"] == tax
    assert inv["totalAmount"] == round(gross * quantity, 2)


@pytest.mark.parametrize(
    ("net", "tax"), [(123.45, 12.35), (0.05, 0.01), (0.04, 0.0), (99.99, 10.0)]
)
def test_exclusive_tax_is_net_times_tenth_rounded_to_the_cent(items, jane, net, tax):
    """reckon.md §8: Exclusive tax = round(net x 0.1, 2); totalAmount includes it [INF]."""
    inv = invoice(items, jane, [_item("Theraband", net)], tax_status="Exclusive")
    assert inv["totalTaxAmount"] == tax
    assert inv["totalAmount"] == round(net + tax, 2)


def test_tax_is_rounded_per_line(items, jane):
    """reckon.md §8: Reckon computes tax per line (v1 checked each line's tax)."""
    lines = [_item("Theraband", 0.05), _item("Theraband", 0.05)]
    inv = invoice(items, jane, lines, tax_status="Exclusive")
    assert inv["totalTaxAmount"] == 0.02


def test_line_discounts_reduce_the_taxed_amount(items, jane):
    """reckon.md §8: itemDetails discountPercent / discountAmount."""
    by_percent = invoice(items, jane, [_item("Theraband", 100, 2, discountPercent=10)])
    assert (by_percent["totalAmount"], by_percent["totalTaxAmount"]) == (180.0, 16.36)
    assert by_percent["lineItems"][0]["itemDetails"]["discountAmount"] == 20.0
    by_amount = invoice(items, jane, [_item("Theraband", 50, discountAmount=5)])
    assert (by_amount["totalAmount"], by_amount["totalTaxAmount"]) == (45.0, 4.09)


def test_non_taxed_invoice_has_no_tax(items, jane):
    """reckon.md §8: amountTaxStatus NonTaxed."""
    inv = invoice(items, jane, [_item("Theraband", 22)], tax_status="NonTaxed")
    assert inv["totalTaxAmount"] == 0.0


def test_item_price_and_tax_default_from_the_item(items, jane):
    """reckon.md §6: an item carries its sale price and tax rate."""
    line = {"itemDetails": {"item": "Theraband", "quantity": 2}}
    inv = invoice(items, jane, [line])
    assert (inv["totalAmount"], inv["totalTaxAmount"]) == (44.0, 4.0)


def test_wrong_client_tax_is_rejected_unless_modified(items, jane):
    """reckon.md §8: v1 rejected "Tax for line 1 is incorrect"; taxIsModified overrides [INF]."""
    wrong = {**_item("Theraband", 22), "taxAmount": 2.5}
    reply = items.call(
        "POST",
        "invoices",
        json={
            "customer": jane,
            "invoiceDate": "2024-05-01",
            "amountTaxStatus": "Inclusive",
            "lineItems": [{"lineNumber": 1, **wrong}],
        },
    )
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["location"] == "lineItems[0].taxAmount"
    inv = invoice(items, jane, [{**wrong, "taxIsModified": True}])
    assert inv["totalTaxAmount"] == 2.5


def test_line_needs_exactly_one_of_item_or_account(api, jane):
    """reckon.md §8: exactly one of itemDetails or accountDetails."""
    body = {
        "customer": jane,
        "invoiceDate": "2024-05-01",
        "amountTaxStatus": "Inclusive",
        "lineItems": [{"lineNumber": 1, "description": "nothing"}],
    }
    reply = api.call("POST", "invoices", json=body)
    assert reply.status_code == 400


def test_invoice_numbers_run_per_book(api, jane, sandbox):
    """reckon.md §8: invoiceNumber like INV0123, server-assigned per book [INF]."""
    numbers = [invoice(api, jane, [account_line(11)])["invoiceNumber"] for _ in range(2)]
    assert numbers == ["INV0001", "INV0002"]
    other = reckon_api(sandbox, clinic=1)
    assert invoice(other, customer(other, "Joe"), [account_line(11)])["invoiceNumber"] == "INV0001"


def test_under_the_approval_process_a_new_invoice_is_draft_until_approved(api, jane):
    """reckon.md §8: approve with PATCH {"status":"Approved"} [INF]; the approval process is the
    book's `approvalEnabled` invoice setting [DOC/SPEC]."""
    assert api.call("GET", "settings/invoice").json()["approvalEnabled"] is False
    assert api.patch("settings/invoice", {"approvalEnabled": True}).status_code == 204
    assert api.call("GET", "settings/invoice").json()["approvalEnabled"] is True
    draft = invoice(api, jane, [account_line(11)], approve=False)
    assert draft["status"] == "Draft"
    assert api.patch(f"invoices/{draft['id']}", {"status": "Approved"}).status_code == 204
    assert api.call("GET", f"invoices/{draft['id']}").json()["status"] == "Approved"


def test_without_the_approval_process_a_new_invoice_is_approved(api, jane):
    """[INF] a book without the approval process approves an invoice as it is saved."""
    saved = invoice(api, jane, [account_line(11)], approve=False)
    assert (saved["status"], saved["balance"]) == ("Approved", 11.0)
    assert api.patch("settings/invoice", {"approvalEnabled": "yes"}).status_code == 400


def test_receipt_reduces_balance_then_paid(api, jane):
    """reckon.md §9: allocation reduces balance; Paid at 0; RCPT numbering."""
    inv = invoice(api, jane, [account_line(117)])
    first = api.create("receipts", receipt_body(jane, [(inv["id"], 100)], 100))
    partial = api.call("GET", f"invoices/{inv['id']}").json()
    assert (partial["balance"], partial["status"]) == (17.0, "Approved")
    api.create("receipts", receipt_body(jane, [(inv["id"], 17)], 17))
    paid = api.call("GET", f"invoices/{inv['id']}").json()
    assert (paid["balance"], paid["status"]) == (0.0, "Paid")
    receipt = api.call("GET", f"receipts/{first}").json()
    assert receipt["receiptNumber"] == "RCPT0001"
    assert receipt["transactionLinks"][0]["transactionNumber"] == inv["invoiceNumber"]
    assert api.call("GET", f"customers/{jane}").json()["balance"] == 0.0


def test_over_allocation_is_rejected(api, jane):
    """reckon.md §9: over-allocation is a 400 [INF]."""
    inv = invoice(api, jane, [account_line(50)])
    reply = api.call("POST", "receipts", json=receipt_body(jane, [(inv["id"], 50.01)], 60))
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["location"] == "transactionLinks[0].transactionAmount"
    assert api.call("GET", f"invoices/{inv['id']}").json()["balance"] == 50.0


def test_links_beyond_the_receipt_total_are_rejected(api, jane):
    """reckon.md §9: allocations cannot exceed the receipt's totalAmount [INF]."""
    inv = invoice(api, jane, [account_line(50)])
    reply = api.call("POST", "receipts", json=receipt_body(jane, [(inv["id"], 40)], 30))
    assert reply.status_code == 400


def test_receipt_against_a_draft_is_rejected(api, jane):
    """reckon.md §9: a Draft target is probably a 400 [INF]."""
    assert api.patch("settings/invoice", {"approvalEnabled": True}).status_code == 204
    draft = invoice(api, jane, [account_line(50)], approve=False)
    reply = api.call("POST", "receipts", json=receipt_body(jane, [(draft["id"], 10)], 10))
    assert reply.status_code == 400


def test_deleting_a_receipt_restores_the_balance(api, jane):
    """reckon.md §9: receipts are deletable; the allocation goes with them."""
    inv = invoice(api, jane, [account_line(20)])
    rid = api.create("receipts", receipt_body(jane, [(inv["id"], 20)], 20))
    assert api.call("DELETE", f"receipts/{rid}").status_code == 204
    again = api.call("GET", f"invoices/{inv['id']}").json()
    assert (again["balance"], again["status"], again["transactionLinks"]) == (20.0, "Approved", [])


def test_invoice_found_by_reference(api, jane):
    """reckon.md §4: dedupe invoices by `reference eq "CLINIKO-..."`."""
    invoice(api, jane, [account_line(20)], reference="CLINIKO-INV-1042")
    found = api.call("GET", "invoices", params={"filter": 'reference eq "CLINIKO-INV-1042"'})
    assert [i["reference"] for i in found.json()["list"]] == ["CLINIKO-INV-1042"]


def test_mutate_control_route_seeds_a_mismatch(api, jane):
    """Control route: POST /_sandbox/reckon/books/<book>/invoices/<id>/mutate overwrites fields."""
    inv = invoice(api, jane, [account_line(20)])
    url = f"{api.url}/_sandbox/reckon/books/{api.book}/invoices/{inv['id']}/mutate"
    assert new_session().post(url, json={"totalAmount": 25.5}, timeout=10).status_code == 200
    assert api.call("GET", f"invoices/{inv['id']}").json()["totalAmount"] == 25.5
