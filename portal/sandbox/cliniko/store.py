"""One Cliniko account's data and how each resource is rendered as JSON (cliniko.md §4)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..clinics import ClinicSpec
from ..core import IdSequence, dec_str, iso_z
from ..store import Row, Table
from . import assumptions

_STAMPS = {"id": "id", "created_at": "datetime", "updated_at": "datetime"}


@dataclass(frozen=True)
class Resource:
    """How a Cliniko resource filters, links and serialises."""

    plural: str
    filters: dict[str, str]
    links: dict[str, tuple[str, str]] = field(default_factory=dict)
    collections: tuple[str, ...] = ()
    numbers: frozenset[str] = frozenset()
    indexed: tuple[str, ...] = ()


RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource(
            "patients",
            {
                **_STAMPS,
                "archived_at": "datetime",
                "email": "string",
                "first_name": "string",
                "last_name": "string",
                "date_of_birth": "date",
                "old_reference_id": "string",
            },
            collections=("invoices",),
        ),
        Resource(
            "billable_items",
            {
                **_STAMPS,
                "archived_at": "datetime",
                "tax_id": "id",
                "item_code": "string",
                "name": "string",
                "item_type": "string",
            },
            links={"tax_id": ("tax", "taxes")},
            indexed=("item_code",),
        ),
        Resource(
            "products",
            {
                **_STAMPS,
                "archived_at": "datetime",
                "tax_id": "id",
                "name": "string",
                "item_code": "string",
            },
            links={"tax_id": ("tax", "taxes")},
        ),
        Resource("taxes", dict(_STAMPS), numbers=assumptions.CLINIKO_TAX_NUMBER_FIELDS),
        Resource(
            "practitioners",
            {**_STAMPS, "user_id": "id"},
            links={"user_id": ("user", "users")},
            collections=("invoices",),
        ),
        Resource(
            "businesses", {**_STAMPS, "archived_at": "datetime"}, collections=("practitioners",)
        ),
        Resource("users", dict(_STAMPS)),
        Resource(
            "invoices",
            {
                **_STAMPS,
                "archived_at": "datetime",
                "closed_at": "datetime",
                "issue_date": "date",
                "number": "int",
                "status": "int",
                "patient_id": "id",
                "practitioner_id": "id",
                "business_id": "id",
                "appointment_id": "id",
            },
            links={
                "patient_id": ("patient", "patients"),
                "practitioner_id": ("practitioner", "practitioners"),
                "business_id": ("business", "businesses"),
            },
            collections=("invoice_items",),
            indexed=("patient_id",),
        ),
        Resource(
            "invoice_items",
            {**_STAMPS, "archived_at": "datetime", "invoice_id": "id", "code": "string"},
            links={
                "invoice_id": ("invoice", "invoices"),
                "billable_item_id": ("billable_item", "billable_items"),
                "product_id": ("product", "products"),
            },
            numbers=assumptions.CLINIKO_INVOICE_ITEM_NUMBER_FIELDS,
            indexed=("invoice_id",),
        ),
    )
}
# Only one of these links is present on an invoice item: the line came from either kind of item.
_OPTIONAL_LINKS = {"billable_item_id", "product_id"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return dec_str(value)
    return value


def render(plural: str, row: Row, base: str) -> dict[str, Any]:
    """The API JSON for a stored row; `base` is the absolute shard URL ending in /v1."""
    spec = RESOURCES[plural]
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        if key in spec.links:
            name, target = spec.links[key]
            if value is None and key in _OPTIONAL_LINKS:
                continue
            out[name] = None if value is None else {"links": {"self": f"{base}/{target}/{value}"}}
        elif key in spec.numbers and value is not None:
            out[key] = float(value)
        else:
            out[key] = _plain(value)
    for collection in spec.collections:
        out[collection] = {"links": {"self": f"{base}/{plural}/{row['id']}/{collection}"}}
    out["links"] = {"self": f"{base}/{plural}/{row['id']}"}
    return out


@dataclass
class ClinikoAccount:
    """All of one clinic's Cliniko data, as one API key's user sees it."""

    clinic: ClinicSpec
    api_key: str
    account_id: str
    ids: IdSequence
    user_id: str = ""
    tables: dict[str, Table] = field(default_factory=dict)
    invoice_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    revoked: bool = False  # the key was revoked in Cliniko's UI: every call is a 401

    def __post_init__(self) -> None:
        self.tables = {name: Table(spec.indexed) for name, spec in RESOURCES.items()}

    @property
    def shard(self) -> str:
        return self.clinic.shard

    def table(self, plural: str) -> Table:
        return self.tables[plural]
