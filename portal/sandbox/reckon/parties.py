"""Customers (patients and payers) and items (billable services and products) [SPEC §5, §6]."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .http import api_blueprint, invalid, reckon
from .resources import Resource, register
from .seed import iso
from .store import Book, Collection, Record, ref
from .validate import Checker

bp = api_blueprint("reckon_parties")

STATUSES = ("Active", "Inactive")
ENTITY_FLAGS = ("isCustomer", "isSupplier", "isEmployee", "isSuperfund")
# Sub-record field -> max length [SPEC AddressInput, PhoneNumberInput, ElectronicAddressInput].
ADDRESS_FIELDS = {"line1": 80, "line2": 80, "line3": 80, "suburb": 80, "town": 80, "state": 80}
ADDRESS_FIELDS |= {"postcode": 30, "country": 30}
PHONE_FIELDS = {"countryCode": 10, "areaCode": 10, "number": 30, "extension": 10}
ELECTRONIC_FIELDS = {"address": 100}


def _now() -> str:
    return iso(reckon().clock.now())


def _sub_records(
    book: Book, c: Checker, key: str, types: Collection, fields: dict[str, int]
) -> list[Record]:
    """Typed sub-records (addresses, phone numbers, electronic addresses)."""
    raw = c.body.get(key) or []
    if not isinstance(raw, list):
        c.fail(key, f"The {key} field must be a list.")
        return []
    out = []
    for index, item in enumerate(raw):
        sub = Checker(item, f"{c.loc(key)}[{index}].", c.errors)
        kind = sub.reference("type", types, required=True, what="type")
        record: Record = {"id": book.new_id(), "type": ref(kind) if kind else None}
        record |= {name: sub.text(name, max_len=size) for name, size in fields.items()}
        out.append(record)
    return out


def _entity_types(c: Checker) -> dict[str, bool]:
    sub = c.child("entityTypes", c.body.get("entityTypes"))
    flags = {flag: sub.boolean(flag) for flag in ENTITY_FLAGS}
    if "entityTypes" not in c.body:
        flags["isCustomer"] = True  # [INF] posting to /customers makes a customer
    return flags


def build_customer(book: Book, body: dict[str, Any], old: Record | None) -> Record:
    """CustomerInput -> Customer [SPEC]."""
    c = Checker(body)
    name = c.text("name", required=True, max_len=100)
    if name and book.customers.name_taken(name, old["id"] if old else None):
        c.fail("name", f"A contact with the name '{name}' already exists.")
    record: Record = {"id": old["id"] if old else book.new_id(), "name": name}
    for key, size in (("organisationName", 100), ("branch", 100), ("notes", 1000)):
        record[key] = c.text(key, max_len=size)
    for key in ("businessNumber1", "businessNumber2"):
        record[key] = c.text(key, max_len=20)
    record["entityTypes"] = _entity_types(c)
    record["status"] = c.choice("status", STATUSES, default="Active")
    record["electronicAddresses"] = _sub_records(
        book, c, "electronicAddresses", book.electronicaddresstypes, ELECTRONIC_FIELDS
    )
    record["phoneNumbers"] = _sub_records(book, c, "phoneNumbers", book.phonetypes, PHONE_FIELDS)
    record["addresses"] = _sub_records(book, c, "addresses", book.addresstypes, ADDRESS_FIELDS)
    record["creditLimit"] = c.decimal("creditLimit")
    term = c.reference("paymentTerms", book.terms, what="payment term")
    c.done()
    record |= {
        "contacts": [],
        "balance": old["balance"] if old else Decimal("0.00"),
        "invoiceCount": old["invoiceCount"] if old else 0,
        "lastModifiedDateTime": _now(),
        "paymentTerms": ref(term) if term else None,
        "_input": body,
    }
    return record


def customer_saved(book: Book, old: Record | None, new: Record | None) -> None:
    """A rename shows on the customer's invoices and receipts too."""
    if old is None or new is None or old["name"] == new["name"]:
        return
    for coll in (book.invoices, book.receipts):
        for doc in coll.find("customer.id", new["id"]) or []:
            doc["customer"]["name"] = new["name"]


def check_customer_delete(book: Book, record: Record) -> None:
    """[INF] a customer with transactions cannot be deleted."""
    if book.invoices.find("customer.id", record["id"]) or book.receipts.find(
        "customer.id", record["id"]
    ):
        raise invalid("id", "The customer has transactions and cannot be deleted.")


def _item_use(book: Book, c: Checker, key: str, sale: bool) -> Record | None:
    """An item's sale or purchase details."""
    if c.body.get(key) is None:
        return None
    sub = c.child(key, c.body[key])
    account = sub.reference("ledgerAccount", book.ledgeraccounts, required=True)
    tax = sub.reference("taxRate", book.taxrates, what="tax rate")
    if tax and not tax["useOnSales" if sale else "useOnPurchases"]:
        sub.fail("taxRate", f"The tax rate '{tax['name']}' cannot be used on {key}s.")
    accuracy = sub.decimal("priceAccuracy")
    return {
        "price": sub.decimal("price"),
        "priceAccuracy": int(accuracy) if accuracy is not None else 2,
        "ledgerAccount": ref(account, "fullName") if account else None,
        "description": sub.text("description", max_len=1000),
        "taxRate": ref(tax) if tax else None,
    }


def build_item(book: Book, body: dict[str, Any], old: Record | None) -> Record:
    """ItemInput -> Item [SPEC/PORTAL]."""
    c = Checker(body)
    name = c.text("name", required=True, max_len=100)
    parent = c.reference("parentItem", book.items, what="parent item")
    full_name = f"{parent['fullName']}:{name}" if parent else name
    if full_name and book.items.name_taken(full_name, old["id"] if old else None):
        c.fail("name", f"An item with the name '{full_name}' already exists.")
    stamp = _now()
    record: Record = {
        "id": old["id"] if old else book.new_id(),
        "name": name,
        "parentItem": ref(parent, "fullName") if parent else None,
        "itemType": c.choice("itemType", ("Product", "Service"), default="Service"),
        "itemCode": c.text("itemCode", max_len=100),
        "amountTaxStatus": c.choice("amountTaxStatus", ("Inclusive", "Exclusive")),
        "status": c.choice("status", STATUSES, default="Active"),
        "fullName": full_name,
        "purchase": _item_use(book, c, "purchase", sale=False),
        "sale": _item_use(book, c, "sale", sale=True),
        "createdDateTime": old["createdDateTime"] if old else stamp,
        "lastModifiedDateTime": stamp,
        "_input": body,
    }
    c.done()
    return record


register(
    bp,
    Resource(
        "customers",
        build_customer,
        created=lambda r: {"id": r["id"], "name": r["name"]},
        after=customer_saved,
        check_delete=check_customer_delete,
    ),
)
register(bp, Resource("items", build_item))
