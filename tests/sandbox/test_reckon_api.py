"""Contract tests for the Reckon One v2 emulator: gateway, books, reference data, parties."""

from __future__ import annotations

from tests.sandbox.reckon_helpers import customer, new_session

MISSING_KEY = {
    "statusCode": 401,
    "message": "Access denied due to missing subscription key. Make sure to include subscription "
    "key when making requests to an API.",
}
BAD_BEARER = {"message": "Authorization has been denied for this request.", "code": 401}


def test_missing_subscription_key_is_apim_401(api):
    """reckon.md §1: APIM's 401 body when Ocp-Apim-Subscription-Key is missing."""
    url = f"{api.url}/reckon/r1/v2/heartbeat"
    reply = new_session().get(url, headers={"Authorization": f"Bearer {api.token}"}, timeout=10)
    assert reply.status_code == 401
    assert reply.json() == MISSING_KEY


def test_subscription_key_may_be_a_query_parameter(api):
    """reckon.md §1: the key may go in ?subscription-key= instead of the header."""
    url = f"{api.url}/reckon/r1/v2/heartbeat"
    headers = {"Authorization": f"Bearer {api.token}"}
    reply = new_session().get(
        url, params={"subscription-key": api.key}, headers=headers, timeout=10
    )
    assert reply.status_code == 200


def test_bad_bearer_is_401_with_message_and_code(api):
    """reckon.md §1: a bad Bearer gets {"message": ..., "code": 401}."""
    reply = api.call("GET", "/heartbeat", headers={"Authorization": "Bearer nope"})
    assert reply.status_code == 401
    assert reply.json() == BAD_BEARER


def test_heartbeat(api):
    """reckon.md §1: GET /heartbeat returns status, version and description."""
    assert api.call("GET", "/heartbeat").json() == {
        "status": "OK",
        "version": "1.0.5473.0",
        "description": "R1 Public API Version 2",
    }


def test_books_lists_only_the_users_books(api, sandbox):
    """reckon.md §2: GET /books returns the books the token's user can reach."""
    books = api.call("GET", "/books").json()["list"]
    assert [b["id"] for b in books] == [api.book]
    assert books[0]["country"] == "AU"
    assert books[0]["status"] == "Active"
    assert books[0]["name"] == sandbox.world.clinics[0].spec.name


def test_unknown_book_is_404(api):
    """reckon.md §2: unknown book is 404 {"message":"Resource not found.","code":404}."""
    reply = api.call("GET", "/00000000-0000-4000-8000-000000000000/customers")
    assert reply.status_code == 404
    assert reply.json() == {"message": "Resource not found.", "code": 404}


def test_unknown_operation_is_a_json_404(api):
    """reckon.md §3: 404 bodies are {message, code}."""
    reply = api.call("GET", "nosuchthing/at/all")
    assert reply.status_code == 404
    assert reply.json() == {"message": "Resource not found.", "code": 404}


def test_someone_elses_book_is_403(api, sandbox):
    """reckon.md §3: 403 means no permission ({message, code})."""
    other = sandbox.world.reckon.books_by_clinic[1]
    reply = api.call("GET", f"/{other}/customers")
    assert reply.status_code == 403
    assert reply.json()["code"] == 403


def test_au_tax_rates_are_seeded(api):
    """reckon.md §7: GST 10% sales, FRE 0, INP 0, EXP 0, NCG 10% purchases only."""
    rates = {r["name"]: r for r in api.call("GET", "taxrates/2024-07-01?perpage=50").json()["list"]}
    assert rates["GST"]["rate"] == 10.0
    assert rates["GST"]["useOnSales"]
    assert not rates["GST"]["useOnPurchases"]
    assert rates["NCG"]["useOnPurchases"]
    assert not rates["NCG"]["useOnSales"]
    assert {rates[c]["rate"] for c in ("FRE", "INP", "EXP")} == {0.0}


def test_accounts_and_payment_methods_are_seeded(api):
    """reckon.md §12: Income, a bank account, clearing, voucher liability; payment methods."""
    accounts = {a["name"] for a in api.call("GET", "ledgeraccounts?perpage=100").json()["list"]}
    assert {"Income", "Cliniko Clearing", "Gift Voucher Liability", "Cheque Account"} <= accounts
    methods = {m["name"] for m in api.call("GET", "paymentMethods").json()["list"]}
    assert {"Cash", "EFTPOS", "Credit Card", "HICAPS"} <= methods


def test_create_customer_returns_201_id_and_name(api):
    """reckon.md §5: POST /customers -> 201 {"id","name"}; sub-records carry type {id,name}."""
    body = {
        "name": "Jane Citizen",
        "addresses": [{"type": "Postal", "line1": "1 Main St", "state": "VIC"}],
        "phoneNumbers": [{"type": "Mobile", "number": "0412345678"}],
        "electronicAddresses": [{"type": "Email", "address": "jane@example.com"}],
    }
    reply = api.call("POST", "customers", json=body)
    assert reply.status_code == 201
    assert reply.json()["name"] == "Jane Citizen"
    shown = api.call("GET", f"customers/{reply.json()['id']}").json()
    assert shown["addresses"][0]["type"]["name"] == "Postal"
    assert shown["electronicAddresses"][0]["address"] == "jane@example.com"
    assert shown["balance"] == 0


def test_validation_errors_have_location_and_message(api):
    """reckon.md §3: 400 {"message","code":400,"errors":[{"location","message"}]}."""
    reply = api.call("POST", "customers", json={"addresses": [{"type": "Nowhere"}]})
    assert reply.status_code == 400
    body = reply.json()
    assert body["code"] == 400
    assert body["message"]
    locations = {e["location"] for e in body["errors"]}
    assert {"name", "addresses[0].type"} <= locations


def test_duplicate_customer_name_is_rejected(api):
    """reckon_assumptions: the name is the reference key, so it is unique per book."""
    customer(api, "Jane Citizen")
    assert api.call("POST", "customers", json={"name": "jane citizen"}).status_code == 400


def test_put_replaces_and_returns_204(api):
    """reckon.md §3: PUT replaces the whole record and returns 204."""
    cid = customer(api, "Jane Citizen", notes="old")
    assert api.call("PUT", f"customers/{cid}", json={"name": "Jane C"}).status_code == 204
    shown = api.call("GET", f"customers/{cid}").json()
    assert (shown["name"], shown["notes"]) == ("Jane C", None)


def test_patch_without_merge_patch_content_type_is_415(api):
    """reckon.md §3: PATCH needs Content-Type application/merge-patch+json, otherwise 415."""
    cid = customer(api)
    reply = api.call("PATCH", f"customers/{cid}", json={"notes": "x"})
    assert reply.status_code == 415
    assert reply.json()["code"] == 415


def test_merge_patch_changes_only_named_fields(api):
    """reckon.md §3: PATCH returns 204 and merges."""
    cid = customer(api, "Jane Citizen", notes="keep")
    assert api.patch(f"customers/{cid}", {"organisationName": "Jane Pty"}).status_code == 204
    shown = api.call("GET", f"customers/{cid}").json()
    assert (shown["notes"], shown["organisationName"]) == ("keep", "Jane Pty")


def test_delete_returns_204_then_404(api):
    """reckon.md §3: DELETE returns 204."""
    cid = customer(api)
    assert api.call("DELETE", f"customers/{cid}").status_code == 204
    assert api.call("GET", f"customers/{cid}").status_code == 404


def test_item_references_resolve_by_name_and_come_back_as_id_name(api):
    """reckon.md §3/§6: input references are names or ids; outputs are {id,name}."""
    body = {
        "name": "Initial Consultation",
        "itemType": "Service",
        "amountTaxStatus": "Inclusive",
        "sale": {"price": 95.00, "ledgerAccount": "Sales - Services", "taxRate": "FRE"},
    }
    item = api.call("GET", f"items/{api.create('items', body)}").json()
    assert item["sale"]["taxRate"]["name"] == "FRE"
    assert item["sale"]["ledgerAccount"]["name"] == "Sales - Services"
    assert item["sale"]["price"] == 95.0
    assert item["fullName"] == "Initial Consultation"


def test_purchase_only_tax_code_on_a_sale_is_rejected(api):
    """reckon.md §7: a purchase-only code (NCG) on a sale is probably rejected [INF]."""
    body = {
        "name": "Band",
        "amountTaxStatus": "Inclusive",
        "sale": {"price": 22, "ledgerAccount": "Income", "taxRate": "NCG"},
    }
    reply = api.call("POST", "items", json=body)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["location"] == "sale.taxRate"


def test_item_found_by_item_code(api):
    """reckon.md §6: itemCode is filterable (the portal dedupes items by code)."""
    body = {"name": "Consult", "itemCode": "PHYSIO-INIT", "amountTaxStatus": "Inclusive"}
    item_id = api.create("items", body)
    found = api.call("GET", "items", params={"filter": "itemCode eq 'PHYSIO-INIT'"}).json()
    assert [i["id"] for i in found["list"]] == [item_id]
