"""The control plane: state, reset, clock, request log and Cliniko staff actions (issue 3)."""

from __future__ import annotations

import csv
import io

import requests

from tests.fixtures.sandbox import SandboxHandle


def test_state_lists_every_clinics_credentials(sandbox: SandboxHandle) -> None:
    """Control plane: GET /_sandbox/state → clinics[{name, cliniko, vaocherapp, reckon}] + app."""
    state = sandbox.state()
    assert [c["name"] for c in state["clinics"]] == [
        "Bondi Physio",
        "Manly Allied Health",
        "Coogee Podiatry",
        "Chatswood Physio",
    ]
    clinic = state["clinics"][0]
    assert {"api_key", "shard", "subdomain"} <= set(clinic["cliniko"])
    assert {"api_key", "webhook_secret"} <= set(clinic["vaocherapp"])
    assert clinic["reckon"]["book_id"]
    assert set(state["reckon_app"]) == {"client_id", "client_secret", "subscription_key"}
    assert all(state["reckon_app"].values())


def test_reset_is_deterministic_per_seed(sandbox: SandboxHandle) -> None:
    """Control plane: POST /_sandbox/reset {"seed"} rebuilds the same world for the same seed."""

    def snapshot() -> tuple:
        base, session = sandbox.cliniko()
        patients = session.get(f"{base}/patients", timeout=10).json()["patients"]
        return sandbox.state()["clinics"][0]["cliniko"]["api_key"], [p["email"] for p in patients]

    first = snapshot()
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"seed": 1}, timeout=10)
    assert snapshot() == first
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"seed": 2}, timeout=10)
    assert snapshot() != first


def test_scale_multiplies_rows(sandbox: SandboxHandle) -> None:
    """Seed data: the scale parameter grows the data for benchmarks."""
    base, session = sandbox.cliniko()
    small = session.get(f"{base}/patients", timeout=10).json()["total_entries"]
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"seed": 1, "scale": 4}, timeout=10)
    base, session = sandbox.cliniko()
    assert session.get(f"{base}/patients", timeout=10).json()["total_entries"] > 3 * small


def test_clock_advance_and_set(sandbox: SandboxHandle) -> None:
    """Control plane: POST /_sandbox/clock {"advance_seconds"} or {"now": iso}."""
    url = f"{sandbox.url}/_sandbox/clock"
    set_to = requests.post(url, json={"now": "2030-01-01T00:00:00Z"}, timeout=10).json()["now"]
    assert set_to.startswith("2030-01-01T00:00:0")
    moved = requests.post(url, json={"advance_seconds": 86400}, timeout=10).json()["now"]
    assert moved.startswith("2030-01-02")


def test_request_log_counts_calls_per_upstream(sandbox: SandboxHandle) -> None:
    """Control plane: GET /_sandbox/requests?upstream= lists calls; control calls are not logged."""
    base, session = sandbox.vaocherapp()
    session.get(f"{base}/vouchers/NOPE123", timeout=10)
    cbase, csession = sandbox.cliniko()
    csession.get(f"{cbase}/patients", params={"per_page": 2}, timeout=10)
    entries = sandbox.requests_log("vaocherapp")
    assert len(entries) == 1
    entry = entries[0]
    assert {"seq", "upstream", "method", "path", "query", "status", "credential_tail", "at"} <= set(
        entry
    )
    assert (entry["method"], entry["path"], entry["status"]) == (
        "GET",
        "/vaocherapp/v1/vouchers/NOPE123",
        404,
    )
    key = sandbox.clinic()["vaocherapp"]["api_key"]
    assert key.endswith(entry["credential_tail"])
    assert sandbox.requests_log("cliniko")[0]["query"] == "per_page=2"
    assert {e["upstream"] for e in sandbox.requests_log()} == {"vaocherapp", "cliniko"}
    assert requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10).status_code == 204
    assert sandbox.requests_log() == []


def _voucher_item(sandbox: SandboxHandle) -> dict:
    base, session = sandbox.cliniko()
    params = {"q[]": "item_type:=Other", "per_page": 100}
    return session.get(f"{base}/billable_items", params=params, timeout=10).json()[
        "billable_items"
    ][0]


def test_staff_invoice_with_voucher_item(sandbox: SandboxHandle) -> None:
    """Control plane: POST /_sandbox/cliniko/invoices uses a voucher item; the API then shows it."""
    base, session = sandbox.cliniko()
    key = sandbox.clinic()["cliniko"]["api_key"]
    patient = session.get(f"{base}/patients", timeout=10).json()["patients"][0]
    voucher = _voucher_item(sandbox)
    service = session.get(
        f"{base}/billable_items", params={"q[]": "item_type:=Service"}, timeout=10
    ).json()["billable_items"][1]
    body = {
        "api_key": key,
        "patient_id": patient["id"],
        "items": [{"billable_item_id": service["id"]}, {"item_code": voucher["item_code"]}],
    }
    created = requests.post(f"{sandbox.url}/_sandbox/cliniko/invoices", json=body, timeout=10)
    assert created.status_code == 201
    invoice = created.json()
    items = session.get(
        f"{base}/invoice_items", params={"q[]": f"invoice_id:={invoice['id']}"}, timeout=10
    ).json()["invoice_items"]
    assert [i["code"] for i in items] == [service["item_code"], voucher["item_code"]]
    expected = float(service["price"]) + float(voucher["price"])
    assert float(invoice["total_amount"]) == expected


def test_voucher_lines_below_equal_and_above_treatment(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §9: voucher < treatment (pay rest), = (nothing due), > (credit left)."""
    base, session = sandbox.cliniko()
    params = {"q[]": "archived_at:*", "per_page": 100}
    invoices = session.get(f"{base}/invoices", params=params, timeout=10).json()["invoices"]
    items = session.get(f"{base}/invoice_items", params=params, timeout=10).json()["invoice_items"]
    voucher_invoices = {
        i["invoice"]["links"]["self"]
        for i in items
        if i["code"] and i["name"].startswith("Gift voucher")
    }
    totals = sorted(
        float(i["total_amount"]) for i in invoices if i["links"]["self"] in voucher_invoices
    )
    assert any(t > 0 for t in totals)
    assert 0.0 in totals
    assert any(t < 0 for t in totals)


def test_pay_and_archive_invoice(sandbox: SandboxHandle) -> None:
    """cliniko.md §7: paid from credit → status 20 with closed_at; archiving hides it from lists."""
    base, session = sandbox.cliniko()
    key = sandbox.clinic()["cliniko"]["api_key"]
    invoice = session.get(f"{base}/invoices", params={"q[]": "status:=10"}, timeout=10).json()[
        "invoices"
    ][0]
    paid = requests.post(
        f"{sandbox.url}/_sandbox/cliniko/invoices/{invoice['id']}/pay",
        json={"api_key": key},
        timeout=10,
    ).json()
    assert (paid["status"], paid["status_description"]) == (20, "Paid")
    assert paid["closed_at"]
    requests.post(
        f"{sandbox.url}/_sandbox/cliniko/invoices/{invoice['id']}/archive",
        json={"api_key": key},
        timeout=10,
    )
    ids = [
        i["id"]
        for i in session.get(f"{base}/invoices", params={"per_page": 100}, timeout=10).json()[
            "invoices"
        ]
    ]
    assert invoice["id"] not in ids


def test_invoice_items_csv_export(sandbox: SandboxHandle) -> None:
    """cliniko.md §6: Invoice items export as CSV, one row per item (headers are a guess)."""
    key = sandbox.clinic()["cliniko"]["api_key"]
    response = requests.get(
        f"{sandbox.url}/_sandbox/cliniko/exports/invoice-items.csv",
        params={"api_key": key, "from": "2000-01-01", "to": "2100-01-01"},
        timeout=10,
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0].keys() >= {"Invoice Number", "Item Code", "Total", "Invoice Item ID", "Archived"}
    base, session = sandbox.cliniko()
    every = session.get(f"{base}/invoice_items", params={"q[]": "archived_at:*"}, timeout=10).json()
    assert len(rows) == every["total_entries"]
    assert any(r["Item Type"] == "Other" and r["Total"].startswith("-") for r in rows)
    assert {r["Archived"] for r in rows} == {"Yes", "No"}
    empty = requests.get(
        f"{sandbox.url}/_sandbox/cliniko/exports/invoice-items.csv",
        params={"api_key": key, "from": "2000-01-01", "to": "2000-01-02"},
        timeout=10,
    )
    assert len(empty.text.strip().splitlines()) == 1


def test_a_revoked_cliniko_key_gets_401_until_restored(sandbox: SandboxHandle) -> None:
    """Control plane: POST /_sandbox/cliniko/revoke and /restore {"api_key"}."""
    base, session = sandbox.cliniko()
    key = sandbox.clinic()["cliniko"]["api_key"]
    assert session.get(f"{base}/patients", timeout=10).status_code == 200
    answer = requests.post(
        f"{sandbox.url}/_sandbox/cliniko/revoke", json={"api_key": key}, timeout=10
    )
    assert answer.json() == {"api_key_tail": key[-4:], "revoked": True}
    assert session.get(f"{base}/patients", timeout=10).status_code == 401
    requests.post(f"{sandbox.url}/_sandbox/cliniko/restore", json={"api_key": key}, timeout=10)
    assert session.get(f"{base}/patients", timeout=10).status_code == 200
    unknown = requests.post(f"{sandbox.url}/_sandbox/cliniko/revoke", json={}, timeout=10)
    assert unknown.status_code == 400
