"""Cliniko list semantics: envelope, paging, q[] filters, sorting, archived rows (cliniko.md §2)."""

from __future__ import annotations

import re

from tests.fixtures.sandbox import SandboxHandle


def test_list_envelope_with_absolute_links(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: {<plural>: [...], total_entries, links: {self, next}} with absolute URLs."""
    base, session = sandbox.cliniko()
    body = session.get(f"{base}/patients", params={"per_page": 5}, timeout=10).json()
    assert set(body) == {"patients", "total_entries", "links"}
    assert len(body["patients"]) == 5
    assert body["links"]["self"].startswith(f"{base}/patients?")
    assert "page=2" in body["links"]["next"]
    assert "per_page=5" in body["links"]["next"]
    assert "previous" not in body["links"]


def test_per_page_defaults_to_50_and_caps_at_100(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: per_page default 50, maximum 100."""
    sandbox.world.reset(seed=1, scale=5)
    base, session = sandbox.cliniko()
    assert len(session.get(f"{base}/patients", timeout=10).json()["patients"]) == 50
    capped = session.get(f"{base}/patients", params={"per_page": 500}, timeout=10).json()
    assert len(capped["patients"]) == 100


def test_following_next_links_visits_every_row_once(sandbox: SandboxHandle) -> None:
    """cliniko.md §8: follow links.next rather than building URLs; previous appears after page 1."""
    base, session = sandbox.cliniko()
    url: str | None = f"{base}/invoice_items?per_page=7"
    seen: list[str] = []
    while url:
        body = session.get(url, timeout=10).json()
        seen += [row["id"] for row in body["invoice_items"]]
        if len(seen) > 7:
            assert "previous" in body["links"]
        url = body["links"].get("next")
    assert len(seen) == len(set(seen)) == body["total_entries"]


def test_ids_are_strings_and_money_is_decimal_strings(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: 64-bit ids serialised as strings; money as decimal strings."""
    base, session = sandbox.cliniko()
    item = session.get(f"{base}/billable_items", timeout=10).json()["billable_items"][0]
    assert isinstance(item["id"], str)
    assert len(item["id"]) >= 17
    assert re.fullmatch(r"-?\d+\.\d+", item["price"])
    invoice = session.get(f"{base}/invoices", timeout=10).json()["invoices"][0]
    assert re.fullmatch(r"-?\d+\.\d+", invoice["total_amount"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", invoice["created_at"])


def test_unknown_filter_field_is_not_searchable(sandbox: SandboxHandle) -> None:
    """cliniko.md §1 (ISS#231): 400 {"message":"This column is not searchable."}."""
    base, session = sandbox.cliniko()
    response = session.get(f"{base}/patients", params={"q[]": "notes:=x"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"message": "This column is not searchable."}


def test_updated_at_filter_for_incremental_sync(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: q[]=updated_at:>T returns only rows changed after T."""
    base, session = sandbox.cliniko()
    rows = session.get(f"{base}/patients", params={"per_page": 100}, timeout=10).json()["patients"]
    stamps = sorted(r["updated_at"] for r in rows)
    middle = stamps[len(stamps) // 2]
    newer = session.get(
        f"{base}/patients", params={"q[]": f"updated_at:>{middle}", "per_page": 100}, timeout=10
    ).json()["patients"]
    assert newer
    assert all(r["updated_at"] > middle for r in newer)
    assert len(newer) == sum(1 for s in stamps if s > middle)


def test_created_at_range_is_anded(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: repeating q[] ANDs the filters (>= and <)."""
    base, session = sandbox.cliniko()
    rows = session.get(f"{base}/invoices", params={"per_page": 100}, timeout=10).json()["invoices"]
    low, high = rows[2]["created_at"], rows[5]["created_at"]
    params = [("q[]", f"created_at:>={low}"), ("q[]", f"created_at:<{high}"), ("per_page", "100")]
    found = session.get(f"{base}/invoices", params=params, timeout=10).json()["invoices"]
    assert [r["id"] for r in found] == [r["id"] for r in rows if low <= r["created_at"] < high]


def test_id_list_and_email_filters(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: numeric '=' takes a list (id:=a,b); strings filter with '='."""
    base, session = sandbox.cliniko()
    rows = session.get(f"{base}/patients", params={"per_page": 3}, timeout=10).json()["patients"]
    ids = f"id:={rows[0]['id']},{rows[2]['id']}"
    found = session.get(f"{base}/patients", params={"q[]": ids}, timeout=10).json()["patients"]
    assert [r["id"] for r in found] == [rows[0]["id"], rows[2]["id"]]
    by_email = session.get(
        f"{base}/patients", params={"q[]": f"email:={rows[1]['email']}"}, timeout=10
    ).json()
    assert [r["id"] for r in by_email["patients"]] == [rows[1]["id"]]


def test_invoice_items_of_one_invoice(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: /invoice_items?q[]=invoice_id:=N lists one invoice's items."""
    base, session = sandbox.cliniko()
    invoice = session.get(f"{base}/invoices", timeout=10).json()["invoices"][0]
    items = session.get(
        f"{base}/invoice_items", params={"q[]": f"invoice_id:={invoice['id']}"}, timeout=10
    ).json()["invoice_items"]
    assert items
    assert all(i["invoice"]["links"]["self"] == invoice["links"]["self"] for i in items)


def test_status_filter_on_invoices(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: invoices filter on status, e.g. q[]=status:=10."""
    base, session = sandbox.cliniko()
    open_ = session.get(f"{base}/invoices", params={"q[]": "status:=10"}, timeout=10).json()
    assert open_["total_entries"] > 0
    assert {i["status"] for i in open_["invoices"]} == {10}


def test_item_code_filter_finds_voucher_item(sandbox: SandboxHandle) -> None:
    """cliniko.md §4 / vaocherapp.md §9: a voucher's billable item has item_code = voucher code."""
    base, session = sandbox.cliniko()
    items = session.get(
        f"{base}/billable_items", params={"q[]": "item_type:=Other"}, timeout=10
    ).json()["billable_items"]
    code = items[0]["item_code"]
    found = session.get(
        f"{base}/billable_items", params={"q[]": f"item_code:={code}"}, timeout=10
    ).json()["billable_items"]
    assert [i["id"] for i in found] == [items[0]["id"]]
    assert found[0]["name"] == f"Gift voucher {code}"
    assert found[0]["price"].startswith("-")


def test_archived_rows_hidden_unless_asked_for(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: lists leave archived rows out; q[]=archived_at:* brings them back."""
    base, session = sandbox.cliniko()
    plain = session.get(f"{base}/invoices", params={"per_page": 100}, timeout=10).json()
    every = session.get(
        f"{base}/invoices", params={"per_page": 100, "q[]": "archived_at:*"}, timeout=10
    ).json()
    archived = [i for i in every["invoices"] if i["archived_at"]]
    assert len(archived) == 1
    assert every["total_entries"] == plain["total_entries"] + 1
    only = session.get(f"{base}/invoices", params={"q[]": "archived_at:?"}, timeout=10).json()
    assert [i["id"] for i in only["invoices"]] == [archived[0]["id"]]


def test_default_sort_is_created_at_ascending(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: default order is created_at ascending."""
    base, session = sandbox.cliniko()
    rows = session.get(f"{base}/patients", params={"per_page": 100}, timeout=10).json()["patients"]
    stamps = [r["created_at"] for r in rows]
    assert stamps == sorted(stamps)


def test_sort_by_columns_with_direction(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: sort=col, col:desc and comma lists."""
    base, session = sandbox.cliniko()
    params = {"sort": "updated_at:desc", "per_page": 100}
    rows = session.get(f"{base}/patients", params=params, timeout=10).json()["patients"]
    stamps = [r["updated_at"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    params = {"sort": "last_name,first_name", "per_page": 100}
    rows = session.get(f"{base}/patients", params=params, timeout=10).json()["patients"]
    names = [(r["last_name"], r["first_name"]) for r in rows]
    assert names == sorted(names)


def test_string_contains_and_like_operators(sandbox: SandboxHandle) -> None:
    """cliniko.md §2: string '~' contains and '~~' wildcard with %."""
    base, session = sandbox.cliniko()
    contains = session.get(
        f"{base}/billable_items", params={"q[]": "name:~consultation"}, timeout=10
    ).json()["billable_items"]
    assert contains
    assert all("consultation" in i["name"].lower() for i in contains)
    like = session.get(
        f"{base}/billable_items", params={"q[]": "name:~~Gift voucher %"}, timeout=10
    ).json()["billable_items"]
    assert like
    assert all(i["name"].startswith("Gift voucher ") for i in like)
