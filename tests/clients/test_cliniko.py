"""The Cliniko client against the sandbox emulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.clients.cliniko import ClinikoClient, UnknownShard, shard_from_api_key
from portal.clients.cliniko_links import billable_item_web_url, invoice_web_url, patient_web_url
from portal.clients.errors import AuthError, NotFound, ValidationError
from tests.clients.conftest import FAST


@pytest.fixture
def cliniko(sandbox, clinic):
    client = ClinikoClient(
        clinic["cliniko"]["api_key"],
        app_name="Clinic Portal tests",
        contact_email="dev@example.com",
        base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
        options=FAST,
    )
    yield client
    client.close()


@pytest.mark.parametrize(
    ("key", "shard"),
    [("abc123-au2", "au2"), ("abc123", "au1"), ("a-b-UK1", "uk1"), ("x-us1", "us1")],
)
def test_shard_comes_from_the_key_suffix(key, shard):
    assert shard_from_api_key(key) == shard


@pytest.mark.parametrize("key", ["abc123-zz9", "abc123-au", "abc123-", "secretpart-nope"])
def test_an_unknown_shard_is_a_clear_error_that_hides_the_key(key):
    with pytest.raises(UnknownShard) as info:
        shard_from_api_key(key)
    assert "region" in str(info.value)
    assert "abc123" not in str(info.value)
    assert "secretpart" not in str(info.value)


def test_constructor_insists_on_a_real_user_agent():
    with pytest.raises(ValueError, match="User-Agent"):
        ClinikoClient("k-au1", app_name="", contact_email="dev@example.com")


def test_account_user_and_settings(cliniko, clinic):
    user = cliniko.get_user()
    assert user.id
    assert user.email
    settings = cliniko.get_settings()
    assert settings.subdomain == clinic["cliniko"]["subdomain"]
    assert settings.account_name == clinic["name"]
    assert settings.time_zone


def test_patient_deep_link(cliniko, clinic):
    expected = f"https://bondiphysio.{clinic['cliniko']['shard']}.cliniko.com/patients/42"
    assert cliniko.patient_web_url("bondiphysio", "42") == expected
    assert patient_web_url("x", "uk1", "7") == "https://x.uk1.cliniko.com/patients/7"


@pytest.mark.parametrize(
    ("subdomain", "shard", "record_id"),
    [
        ("evil.example.com/x", "au1", "7"),
        ("a@evil.example", "au1", "7"),
        ("Bondi", "au1", "7"),
        ("-bondi", "au1", "7"),
        ("bondi", "zz9", "7"),
        ("bondi", "au1.evil.example", "7"),
        ("bondi", "au1", "7/../../logout"),
        ("bondi", "au1", "javascript:alert(1)"),
        ("", "au1", "7"),
    ],
)
def test_deep_links_refuse_values_cliniko_would_not_send(subdomain, shard, record_id):
    assert patient_web_url(subdomain, shard, record_id) == ""
    assert billable_item_web_url(subdomain, shard, record_id) == ""
    assert invoice_web_url(subdomain, shard, record_id) == ""


def test_iter_patients_follows_links_next_100_at_a_time(sandbox, big_world, control):
    client = ClinikoClient(
        big_world["cliniko"]["api_key"],
        app_name="Clinic Portal tests",
        contact_email="dev@example.com",
        base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
        options=FAST,
    )
    patients = list(client.iter_patients())
    assert len(patients) == len({p.id for p in patients}) > 300
    pages = [r for r in control.requests("cliniko") if r["path"].endswith("/patients")]
    assert len(pages) == -(-len(patients) // 100)
    assert all("per_page=100" in page["query"] for page in pages)


def test_updated_since_and_archived_filters(cliniko):
    everyone = list(cliniko.iter_patients(include_archived=True))
    live = list(cliniko.iter_patients())
    assert len(everyone) >= len(live)
    assert all(p.archived_at is None for p in live)
    future = datetime.now(UTC) + timedelta(days=3650)
    assert list(cliniko.iter_patients(updated_since=future)) == []


def test_create_find_update_and_get_a_patient(cliniko):
    created = cliniko.create_patient("Ada", "Lovelace", email="ada@example.com")
    assert created.id
    assert created.full_name == "Ada Lovelace"
    assert [p.id for p in cliniko.find_patients_by_email("ada@example.com")] == [created.id]
    updated = cliniko.update_patient(created.id, notes="Voucher ABC123 bought 2024-05-01")
    assert updated.notes == "Voucher ABC123 bought 2024-05-01"
    assert cliniko.get_patient(created.id).notes == updated.notes


def test_validation_errors_carry_cliniko_field_messages(cliniko):
    with pytest.raises(ValidationError) as info:
        cliniko.create_patient("Ada", "")
    assert "last_name" in info.value.fields
    assert info.value.status == 422


def test_missing_record_is_not_found(cliniko):
    with pytest.raises(NotFound):
        cliniko.get_patient("999999999")


def test_billable_item_lifecycle_with_decimal_prices(cliniko):
    tax = next(cliniko.iter_taxes())
    item = cliniko.create_billable_item(
        "Gift voucher VCH-1", "VCH-1", "Other", Decimal("-50.00"), tax_id=tax.id
    )
    assert item.price == Decimal("-50.00")
    assert item.tax_id == tax.id
    assert cliniko.find_billable_item_by_code("VCH-1") == item
    changed = cliniko.update_billable_item(item.id, price=Decimal("-20.50"))
    assert changed.price == Decimal("-20.50")
    cliniko.archive_billable_item(item.id)
    archived = cliniko.find_billable_item_by_code("VCH-1")
    assert archived is not None
    assert archived.archived_at is not None
    assert cliniko.find_billable_item_by_code("VCH-1", include_archived=False) is None
    assert cliniko.find_billable_item_by_code("NO-SUCH-CODE") is None


def test_products_taxes_invoices_and_items(cliniko):
    assert all(isinstance(t.rate, Decimal) for t in cliniko.iter_taxes())
    assert all(p.id for p in cliniko.iter_products(include_archived=True))
    invoice = next(cliniko.iter_invoices())
    fetched = cliniko.get_invoice(invoice.id)
    assert fetched == invoice
    assert isinstance(invoice.total_amount, Decimal)
    items = list(cliniko.iter_invoice_items(invoice_ids=[invoice.id]))
    assert items
    assert all(i.invoice_id == invoice.id for i in items)
    assert all(isinstance(i.quantity, Decimal) for i in items)


def test_the_lines_of_several_invoices_in_one_read(cliniko, sandbox):
    """One filter lists the invoices (`invoice_id:=1,2,3`): one call for the lines of many."""
    invoices = [i for i in cliniko.iter_invoices()][:5]
    assert len(invoices) == 5
    one_by_one = {i.id: list(cliniko.iter_invoice_items(invoice_ids=[i.id])) for i in invoices}
    seen = len(sandbox.requests_log("cliniko"))
    together = list(cliniko.iter_invoice_items(invoice_ids=[i.id for i in invoices]))
    assert len(sandbox.requests_log("cliniko")) - seen == 1
    assert sorted(line.id for line in together) == sorted(
        line.id for lines in one_by_one.values() for line in lines
    )
    assert list(cliniko.iter_invoice_items(invoice_ids=[])) == []


def test_a_key_sent_to_the_wrong_shard_is_an_auth_error(sandbox, clinic):
    key = clinic["cliniko"]["api_key"].rsplit("-", 1)[0] + "-uk2"
    client = ClinikoClient(
        key,
        app_name="Clinic Portal tests",
        contact_email="dev@example.com",
        base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
        options=FAST,
    )
    with pytest.raises(AuthError) as info:
        client.get_user()
    assert info.value.status == 401
    assert key not in str(info.value)
