"""Contract tests for Reckon One lists: paging headers, filter and orderby (reckon.md §4)."""

from __future__ import annotations

import time

import pytest

from tests.sandbox.reckon_helpers import (
    ReckonApi,
    account_line,
    customer,
    invoice,
    new_session,
)


@pytest.fixture
def people(api) -> ReckonApi:
    """25 customers: Patient 01 .. Patient 25, plus Joe Bloggs."""
    for n in range(1, 26):
        customer(api, f"Patient {n:02d}", notes="even" if n % 2 == 0 else "odd")
    customer(api, "Joe Bloggs")
    return api


def _names(api: ReckonApi, **params) -> list[str]:
    reply = api.call("GET", "customers", params=params)
    assert reply.status_code == 200, reply.text
    return [c["name"] for c in reply.json()["list"]]


def test_default_page_size_is_10_with_total_count(people):
    """reckon.md §4: defaults page 1, perpage 10; X-Total-Count; body only {"list": [...]}."""
    reply = people.call("GET", "customers")
    assert list(reply.json()) == ["list"]
    assert len(reply.json()["list"]) == 10
    assert reply.headers["X-Total-Count"] == "26"


def test_link_header_has_first_next_last_and_prev(people):
    """reckon.md §4: Link with rels first, last, prev, next."""
    first = people.call("GET", "customers").links
    assert set(first) == {"first", "next", "last"}
    assert "page=3" in first["last"]["url"]
    middle = people.call("GET", "customers", params={"page": 2}).links
    assert set(middle) == {"first", "prev", "next", "last"}
    follow = new_session().get(middle["next"]["url"], headers=people.headers(), timeout=10)
    assert len(follow.json()["list"]) == 6


def test_perpage_accepts_both_spellings(people):
    """reckon.md §4: ?perpage= (docs) and ?perPage= (spec)."""
    assert len(_names(people, perpage=5)) == 5
    assert len(_names(people, perPage=7)) == 7


def test_filter_eq_is_case_sensitive(people):
    """reckon.md §4: `name eq 'Joe Bloggs'` is case-sensitive."""
    assert _names(people, filter="name eq 'Joe Bloggs'") == ["Joe Bloggs"]
    assert _names(people, filter="name eq 'joe bloggs'") == []


def test_filter_tolower_contains(people):
    """reckon.md §4: use `tolower(name) contains 'bloggs'` for case-insensitive search."""
    assert _names(people, filter="tolower(name) contains 'bloggs'") == ["Joe Bloggs"]


def test_filter_ne_and_double_quotes(people):
    """reckon.md §4: ne; spec examples quote with double quotes."""
    names = _names(people, filter='notes ne "odd" and name ne "Joe Bloggs"', perpage=50)
    assert len(names) == 12


def test_filter_ranges_joined_by_and(people):
    """reckon.md §4: gt/ge/lt/le joined by and."""
    names = _names(people, filter="name ge 'Patient 10' and name lt 'Patient 13'")
    assert names == ["Patient 10", "Patient 11", "Patient 12"]
    assert _names(people, filter="name gt 'Patient 24' and name le 'Patient 25'") == ["Patient 25"]


def test_orderby_desc(people):
    """reckon.md §4: ?orderby=name desc."""
    assert _names(people, orderby="name desc", perpage=2) == ["Patient 25", "Patient 24"]


def test_unparseable_filter_is_400_at_filter(people):
    """reckon.md §3: 400 errors name the location."""
    reply = people.call("GET", "customers", params={"filter": "name eq"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["location"] == "filter"


def test_filter_dates_and_nested_fields(api):
    """reckon.md §4: `invoicedate le "2020-03-31"`; nested `customer.name`; orderby two keys."""
    jane, joe = customer(api, "Jane"), customer(api, "Joe")
    invoice(api, jane, [account_line(10)], invoiceDate="2020-03-31T00:00:00Z")
    invoice(api, joe, [account_line(20)], invoiceDate="2020-04-01T00:00:00Z")
    invoice(api, jane, [account_line(30)], invoiceDate="2020-04-02T00:00:00Z")
    early = api.call("GET", "invoices", params={"filter": 'invoicedate le "2020-03-31"'}).json()
    assert [i["totalAmount"] for i in early["list"]] == [10.0]
    janes = api.call(
        "GET",
        "invoices",
        params={"filter": "customer.name eq 'Jane'", "orderby": "customer.name,invoicedate desc"},
    ).json()["list"]
    assert [i["totalAmount"] for i in janes] == [30.0, 10.0]
    big = api.call("GET", "invoices", params={"filter": "totalAmount ge 20"}).json()["list"]
    assert len(big) == 2


def test_reference_lookup_stays_fast_with_20000_invoices(api):
    """reckon.md §4 (dedupe by `reference eq`): lists must stay fast at volume."""
    url = f"{api.url}/_sandbox/reckon/books/{api.book}/generate"
    assert new_session().post(url, json={"invoices": 20000}, timeout=60).json()["invoices"] == 20000
    started = time.perf_counter()
    reply = api.call("GET", "invoices", params={"filter": "reference eq 'VOLUME-12345'"})
    page = api.call("GET", "invoices", params={"page": 1500, "perpage": 10})
    assert time.perf_counter() - started < 1.0
    assert [i["reference"] for i in reply.json()["list"]] == ["VOLUME-12345"]
    assert page.headers["X-Total-Count"] == "20000"
