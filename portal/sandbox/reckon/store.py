"""Reckon One book storage: indexed collections of records kept in their output shape."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import assumptions as A

Record = dict[str, Any]


def get_path(record: Record, path: str) -> Any:
    """Read a dotted path (`customer.name`), falling back to a case-insensitive key match."""
    value: Any = record
    for i, part in enumerate(path.split(".")):
        if isinstance(value, list):  # a path through a list: every element's value [INF]
            rest = ".".join(path.split(".")[i:])
            return [get_path(v, rest) for v in value if isinstance(v, dict)]
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = part.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


class Collection:
    """Records by id in creation order, a name index for references, and value indexes."""

    def __init__(self, name_key: str | None = "name", indexed: Iterable[str] = ()) -> None:
        self.rows: dict[str, Record] = {}
        self.name_key = name_key
        self.by_name: dict[str, str] = {}
        # Why ordered dicts as sets: index hits come back in creation order, like a scan would.
        self.indexes: dict[str, dict[Any, dict[str, None]]] = {
            path: defaultdict(dict) for path in indexed
        }

    def __len__(self) -> int:
        return len(self.rows)

    def values(self) -> list[Record]:
        """Every record in creation order."""
        return list(self.rows.values())

    def get(self, record_id: str) -> Record | None:
        """The record with this id, if any."""
        return self.rows.get(record_id)

    def put(self, record: Record) -> Record:
        """Insert or replace a record, keeping the indexes in step."""
        self.remove(record["id"])
        self.rows[record["id"]] = record
        if self.name_key and record.get(self.name_key):
            self.by_name[record[self.name_key]] = record["id"]
        for path, index in self.indexes.items():
            index[get_path(record, path)][record["id"]] = None
        return record

    def remove(self, record_id: str) -> Record | None:
        """Delete a record and its index entries."""
        old = self.rows.pop(record_id, None)
        if old is None:
            return None
        name = old.get(self.name_key) if self.name_key else None
        if name is not None and self.by_name.get(name) == record_id:
            del self.by_name[name]
        for path, index in self.indexes.items():
            index[get_path(old, path)].pop(record_id, None)
        return old

    def find(self, path: str, value: Any) -> list[Record] | None:
        """Records whose indexed `path` equals `value`; None when the path is not indexed."""
        index = self.indexes.get(path)
        if index is None:
            return None
        return [self.rows[i] for i in index.get(value, {})]

    def resolve(self, ref: str) -> Record | None:
        """A reference string is an id or an exact (full) name [SPEC conventions]."""
        found = self.rows.get(ref) or self.rows.get(ref.lower())
        if found is None and ref in self.by_name:
            found = self.rows[self.by_name[ref]]
        return found

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        """Whether another record already uses this name, ignoring case."""
        lowered = name.lower()
        return any(k.lower() == lowered and rid != except_id for k, rid in self.by_name.items())


def ref(record: Record, name_key: str = "name") -> dict[str, str]:
    """The `{id, name}` shape outputs use for references."""
    return {"id": record["id"], "name": record.get(name_key) or record.get("name") or ""}


@dataclass
class Book:
    """One Reckon One book: reference data, customers, items, invoices and receipts."""

    id: str
    name: str
    rng: random.Random
    country: str = "AU"
    taxrates: Collection = field(default_factory=Collection)
    ledgeraccounts: Collection = field(default_factory=lambda: Collection("fullName"))
    paymentmethods: Collection = field(default_factory=Collection)
    addresstypes: Collection = field(default_factory=Collection)
    phonetypes: Collection = field(default_factory=Collection)
    electronicaddresstypes: Collection = field(default_factory=Collection)
    # Why name/itemCode indexes: the portal dedupes by `name eq` / `itemCode eq` before creating.
    customers: Collection = field(default_factory=lambda: Collection("name", ["name"]))
    items: Collection = field(default_factory=lambda: Collection("fullName", ["itemCode", "name"]))
    invoices: Collection = field(
        default_factory=lambda: Collection(
            "invoiceNumber", ["reference", "customer.id", "invoiceNumber", "status"]
        )
    )
    receipts: Collection = field(
        default_factory=lambda: Collection("receiptNumber", ["reference", "customer.id"])
    )
    creditnotes: Collection = field(
        default_factory=lambda: Collection("creditNoteNumber", ["reference", "customer.id"])
    )
    terms: Collection = field(default_factory=Collection)
    counters: dict[str, int] = field(
        default_factory=lambda: {"invoice": 0, "receipt": 0, "creditnote": 0}
    )
    invoice_approval: bool = A.INVOICE_APPROVAL_DEFAULT  # the "Approval process" setting

    def new_id(self) -> str:
        """A GUID from the book's seeded generator, so runs are repeatable."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_number(self, kind: str) -> int:
        """The next document number of a kind (invoice, receipt) in this book."""
        self.counters[kind] += 1
        return self.counters[kind]

    def collection(self, name: str) -> Collection | None:
        """A collection by its URL name (`customers`, `invoices`, ...)."""
        value = getattr(self, name.lower(), None)
        return value if isinstance(value, Collection) else None
