"""The Reckon identity and API clients against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.clients.errors import AuthError, NotFound, ValidationError
from portal.clients.reckon_models import Allocation, InvoiceLine
from tests.clients.conftest import CALLBACK, consent

TODAY = datetime.now(UTC).date()


def test_authorize_url_asks_for_offline_access_with_state_and_nonce(identity):
    query = parse_qs(urlsplit(identity.authorize_url("s", "n")).query)
    assert query["scope"] == ["openid read write offline_access"]
    assert query["response_type"] == ["code"]
    assert (query["state"], query["nonce"], query["redirect_uri"]) == (["s"], ["n"], [CALLBACK])


def test_code_exchange_gives_rotating_tokens_whose_repr_hides_them(tokens):
    assert tokens.access_token
    assert tokens.refresh_token
    assert tokens.expires_at > datetime.now(UTC)
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)


def test_a_used_code_is_refused_as_reconnect_needed(sandbox, control, identity, book_id):
    code = consent(sandbox, control, identity, book_id)
    identity.exchange_code(code)
    with pytest.raises(AuthError, match="reconnect"):
        identity.exchange_code(code)


def test_books_tax_rates_accounts_and_payment_methods(reckon, book_id):
    assert book_id in [b.id for b in reckon.list_books()]
    rates = {r.name: r for r in reckon.get_tax_rates(book_id, TODAY)}
    assert rates["GST"].rate == Decimal("10")
    assert rates["FRE"].rate == Decimal("0")
    assert reckon.list_ledger_accounts(book_id)
    assert reckon.list_payment_methods(book_id)


def test_customer_create_find_update(reckon, book_id):
    new_id = reckon.create_customer(book_id, "Ada O'Lovelace", notes="Cliniko patient 1")
    found = reckon.find_customer_by_name(book_id, "Ada O'Lovelace")
    assert found is not None
    assert found.id == new_id
    reckon.update_customer(book_id, new_id, notes="Cliniko patient 2")
    again = reckon.find_customer_by_name(book_id, "Ada O'Lovelace")
    assert again is not None
    assert again.notes == "Cliniko patient 2"
    assert reckon.find_customer_by_name(book_id, "Nobody At All") is None


def test_item_create_find_update(reckon, book_id):
    item_id = reckon.create_item(
        book_id,
        "Initial consult",
        item_code="PHYSIO-INIT",
        price=Decimal("95.10"),
        tax_rate="FRE",
        ledger_account="Income",
    )
    item = reckon.find_item_by_code(book_id, "PHYSIO-INIT")
    assert item is not None
    assert item.id == item_id
    assert item.sale_price == Decimal("95.10")
    reckon.update_item(book_id, item_id, name="Initial consultation")
    renamed = reckon.find_item_by_code(book_id, "PHYSIO-INIT")
    assert renamed is not None
    assert renamed.name == "Initial consultation"


def test_invoice_and_receipt_round_trip_with_exact_money(reckon, book_id):
    customer = reckon.create_customer(book_id, "Grace Hopper")
    lines = [InvoiceLine("Initial consult", Decimal(1), Decimal("95.10"), "FRE")]
    reckon.create_item(
        book_id,
        "Initial consult",
        item_code="IC",
        price=Decimal("95.10"),
        tax_rate="FRE",
        ledger_account="Income",
    )
    invoice_id = reckon.create_invoice(book_id, customer, TODAY, lines, reference="CLINIKO-INV-1")
    reckon.update_invoice(book_id, invoice_id, status="Approved")
    invoice = reckon.get_invoice(book_id, invoice_id)
    assert invoice.total_amount == Decimal("95.10")
    assert invoice.balance == Decimal("95.10")
    assert invoice.status == "Approved"
    assert reckon.find_invoice_by_reference(book_id, "CLINIKO-INV-1") == invoice
    receipt_id = reckon.create_receipt(
        book_id,
        customer,
        TODAY,
        Decimal("95.10"),
        reference="CLINIKO-PAY-1",
        allocations=[Allocation(invoice_id, Decimal("95.10"))],
    )
    receipt = reckon.find_receipt_by_reference(book_id, "CLINIKO-PAY-1")
    assert receipt is not None
    assert receipt.id == receipt_id
    assert receipt.allocated_invoice_ids == (invoice_id,)
    paid = reckon.get_invoice(book_id, invoice_id)
    assert paid.balance == Decimal(0)
    assert paid.status == "Paid"


def test_iter_invoices_pages_through_everything(reckon, book_id, control):
    control.post(f"reckon/books/{book_id}/generate", {"invoices": 250})
    invoices = list(reckon.iter_invoices(book_id))
    assert len(invoices) == len({i.id for i in invoices}) >= 250
    pages = [r for r in control.requests("reckon") if r["path"].endswith("/invoices")]
    assert len(pages) == -(-len(invoices) // 100)
    assert all("perpage=100" in page["query"] for page in pages)
    drafts = list(reckon.iter_invoices(book_id, filter="status eq 'Draft'"))
    assert all(i.status == "Draft" for i in drafts)


def test_validation_errors_and_not_found(reckon, book_id):
    with pytest.raises(ValidationError) as info:
        reckon.create_customer(book_id, "")
    assert info.value.fields
    with pytest.raises(NotFound):
        reckon.get_invoice(book_id, "00000000-0000-0000-0000-000000000000")
