"""Cliniko writes and read-only resources (cliniko.md §1, §4)."""

from __future__ import annotations

from tests.fixtures.sandbox import SandboxHandle

BLANK = "can\u2019t be blank"


def test_create_patient_gives_201_and_location(sandbox: SandboxHandle) -> None:
    """cliniko.md §1/§4: POST /patients → 201 with a Location header."""
    base, session = sandbox.cliniko()
    response = session.post(
        f"{base}/patients", json={"first_name": "John", "last_name": "Snow"}, timeout=10
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == body["links"]["self"]
    assert session.get(response.headers["Location"], timeout=10).json()["first_name"] == "John"


def test_missing_fields_are_422_validation_failed(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: 422 Validation Failed, errors {field: "can\u2019t be blank"} as one string."""
    base, session = sandbox.cliniko()
    response = session.post(f"{base}/patients", json={"first_name": "John"}, timeout=10)
    assert response.status_code == 422
    assert response.json() == {"message": "Validation Failed", "errors": {"last_name": BLANK}}


def test_body_without_json_content_type_is_not_parsed(sandbox: SandboxHandle) -> None:
    """cliniko.md §1 (ISS#261): without Content-Type: application/json the body is ignored → 422."""
    base, session = sandbox.cliniko()
    response = session.post(
        f"{base}/patients",
        data='{"first_name":"John","last_name":"Snow"}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"first_name": BLANK, "last_name": BLANK}


def test_create_billable_item_accepts_string_or_number_price(sandbox: SandboxHandle) -> None:
    """cliniko.md §4 Billable item: body with price and tax_id as strings (or numbers)."""
    base, session = sandbox.cliniko()
    tax_id = session.get(f"{base}/taxes", timeout=10).json()["taxes"][0]["id"]
    body = {
        "name": "Gift voucher NEW123",
        "item_code": "NEW123",
        "item_type": "Other",
        "price": "-50",
        "tax_id": tax_id,
    }
    created = session.post(f"{base}/billable_items", json=body, timeout=10)
    assert created.status_code == 201
    assert created.json()["price"] == "-50.0"
    assert created.json()["tax"]["links"]["self"].endswith(f"/taxes/{tax_id}")
    numeric = session.post(f"{base}/billable_items", json={**body, "price": 11}, timeout=10)
    assert numeric.json()["price"] == "11.0"


def test_billable_item_type_must_be_in_enum(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: item_type is one of Product, Service, Other."""
    base, session = sandbox.cliniko()
    body = {"name": "X", "item_type": "Voucher", "price": "1"}
    response = session.post(f"{base}/billable_items", json=body, timeout=10)
    assert response.status_code == 422
    assert "item_type" in response.json()["errors"]


def test_archive_billable_item_is_204_and_sets_archived_at(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: POST /billable_items/{id}/archive → 204; archived_at and updated_at set."""
    base, session = sandbox.cliniko()
    item = session.get(f"{base}/billable_items", timeout=10).json()["billable_items"][0]
    response = session.post(f"{base}/billable_items/{item['id']}/archive", timeout=10)
    assert response.status_code == 204
    assert response.content == b""
    after = session.get(f"{base}/billable_items/{item['id']}", timeout=10).json()
    assert after["archived_at"] is not None
    assert after["updated_at"] > item["updated_at"]
    listed = session.get(f"{base}/billable_items", params={"per_page": 100}, timeout=10).json()
    assert item["id"] not in [i["id"] for i in listed["billable_items"]]


def test_patch_billable_item_price(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: PATCH /billable_items/{id} → 200 with the change and a new updated_at."""
    base, session = sandbox.cliniko()
    item = session.get(f"{base}/billable_items", timeout=10).json()["billable_items"][0]
    response = session.patch(
        f"{base}/billable_items/{item['id']}", json={"price": "99.5"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["price"] == "99.5"
    assert response.json()["updated_at"] > item["updated_at"]


def test_patch_patient_notes(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: PATCH /patients/{id} updates notes."""
    base, session = sandbox.cliniko()
    patient = session.get(f"{base}/patients", timeout=10).json()["patients"][0]
    note = "Gift voucher ABC123: https://vaocher.app/o?c=ABC123"
    response = session.patch(f"{base}/patients/{patient['id']}", json={"notes": note}, timeout=10)
    assert response.json()["notes"] == note
    assert session.get(f"{base}/patients/{patient['id']}", timeout=10).json()["notes"] == note


def test_invoices_are_read_only(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: invoices and invoice items cannot be created or changed through the API."""
    base, session = sandbox.cliniko()
    invoice = session.get(f"{base}/invoices", timeout=10).json()["invoices"][0]
    assert session.post(f"{base}/invoices", json={}, timeout=10).status_code == 404
    assert session.patch(f"{base}/invoices/{invoice['id']}", json={}, timeout=10).status_code == 404
    assert session.post(f"{base}/invoice_items", json={}, timeout=10).status_code == 404


def test_there_is_no_payments_resource(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: there is no Payments resource (ISS#90)."""
    base, session = sandbox.cliniko()
    assert session.get(f"{base}/payments", timeout=10).status_code == 404


def test_invoice_status_and_closed_at(sandbox: SandboxHandle) -> None:
    """cliniko.md §4 Invoice: 10 Open, 20 Paid (closed_at set), 30 Closed, 40 Open credit."""
    base, session = sandbox.cliniko()
    params = {"per_page": 100, "q[]": "archived_at:*"}
    invoices = session.get(f"{base}/invoices", params=params, timeout=10).json()["invoices"]
    by_status = {i["status"]: i for i in invoices}
    assert set(by_status) == {10, 20, 30, 40}
    assert by_status[20]["status_description"] == "Paid"
    assert by_status[20]["closed_at"]
    assert by_status[10]["status_description"] == "Open"
    assert by_status[10]["closed_at"] is None


def test_invoice_items_link_to_billable_item_or_product(sandbox: SandboxHandle) -> None:
    """cliniko.md §4 Invoice item: links to the invoice and either a billable_item or a product."""
    base, session = sandbox.cliniko()
    items = session.get(f"{base}/invoice_items", params={"per_page": 100}, timeout=10).json()
    kinds = set()
    for item in items["invoice_items"]:
        linked = {"billable_item", "product"} & set(item)
        assert len(linked) == 1
        kinds |= linked
        assert item["invoice"]["links"]["self"].startswith(f"{base}/invoices/")
    assert kinds == {"billable_item", "product"}


def test_products_taxes_practitioners_businesses_list(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: products, taxes (GST 10), practitioners and businesses are listed."""
    base, session = sandbox.cliniko()
    for plural in ("products", "taxes", "practitioners", "businesses", "users"):
        body = session.get(f"{base}/{plural}", timeout=10).json()
        assert body["total_entries"] == len(body[plural]) > 0
    taxes = session.get(f"{base}/taxes", timeout=10).json()["taxes"]
    assert {"name": "GST", "rate": 10.0} in [{"name": t["name"], "rate": t["rate"]} for t in taxes]
