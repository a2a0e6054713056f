"""Cliniko REST client: practice management (patients, billable items, invoices).

Reference: /work/shared/upstreams/cliniko.md. Sandbox and real service differ only by base URL.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from . import base
from .cliniko_links import KNOWN_SHARDS, patient_web_url
from .cliniko_models import (
    BillableItem,
    ClinikoSettings,
    ClinikoUser,
    Invoice,
    InvoiceItem,
    Patient,
    Product,
    Tax,
)
from .errors import AuthError, ValidationError
from .parsing import utc_z
from .ratelimit import UNLIMITED, RateLimit, shared_limiter

SERVICE = "Cliniko"
DEFAULT_BASE_URL_TEMPLATE = "https://api.{shard}.cliniko.com/v1"
SHARD_PATTERN = re.compile(r"\w{2}\d{1,2}")
DEFAULT_SHARD = "au1"  # a key without a suffix belongs to the original Australian shard
RATE_LIMIT = RateLimit(200, 60.0)  # "200 per minute per user"
PER_PAGE = 100  # the documented maximum

# ---- ASSUMPTIONS no public source confirms (cliniko.md [I]); correct them here only. ----------
# The web app's patient page; the docs only document the API.
# The documented billable-item filters omit item_code, so a filter may 400 ("not searchable") or be
# ignored: we try it, check each result's code ourselves, and fall back to a full scan on a 400.
ASSUMED_ITEM_CODE_FILTERABLE = True


class UnknownShard(AuthError):
    """The API key's suffix is not a Cliniko region we know, so we can't tell where to send it."""


def shard_from_api_key(api_key: str) -> str:
    """The shard is the key's suffix after the last hyphen; no suffix means au1."""
    key = api_key.strip()
    if not key:
        raise AuthError("The Cliniko API key is empty.", service=SERVICE)
    if "-" not in key:
        return DEFAULT_SHARD
    suffix = key.rsplit("-", 1)[1].lower()
    if SHARD_PATTERN.fullmatch(suffix) and suffix in KNOWN_SHARDS:
        return suffix
    # Only the suffix goes in the message; the rest of the key is a secret.
    raise UnknownShard(
        f"This Cliniko API key ends in '-{suffix[:8]}', which is not a Cliniko region we know "
        f"({', '.join(sorted(KNOWN_SHARDS))}). Check that the whole key was copied.",
        service=SERVICE,
    )


def _wire(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready values: Cliniko wants money as decimal strings and UTC `Z` timestamps."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime):
            value = utc_z(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def _seg(record_id: str) -> str:
    """An id as one path segment, whatever it contains."""
    return quote(str(record_id), safe="")


def _since_filters(updated_since: datetime | None, include_archived: bool) -> list[str]:
    filters = [f"updated_at:>{utc_z(updated_since)}"] if updated_since else []
    # Lists leave archived rows out unless a filter names archived_at; `*` means "any value".
    return [*filters, "archived_at:*"] if include_archived else filters


class ClinikoClient:
    """One clinic's Cliniko account, reached with one API key."""

    def __init__(
        self,
        api_key: str,
        *,
        app_name: str,
        contact_email: str,
        base_url_template: str = DEFAULT_BASE_URL_TEMPLATE,
        options: base.HttpOptions | None = None,
        rate_limit: RateLimit | None = RATE_LIMIT,
        rate_store: Any | None = None,  # a Redis client: one window for every process
    ) -> None:
        if not app_name.strip() or "@" not in contact_email:
            # Cliniko may block requests without a real app name and contact email.
            raise ValueError("Cliniko needs an app name and a contact email for its User-Agent")
        self.shard = shard_from_api_key(api_key)
        limiter = shared_limiter(SERVICE, api_key, rate_limit or UNLIMITED, rate_store)
        url = base_url_template.format(shard=self.shard)
        self._http = base.HttpClient(SERVICE, url, limiter=limiter, options=options)
        self._http.auth = (api_key.strip(), "")
        self._http.headers.update(
            {
                "User-Agent": f"{app_name.strip()} ({contact_email.strip()})",
                "Accept": "application/json",
            }
        )

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    # ---- account ---------------------------------------------------------------------------
    def get_user(self) -> ClinikoUser:
        """The user who owns the key (also a cheap credentials check)."""
        return ClinikoUser.from_json(self._get("user"))

    def get_settings(self) -> ClinikoSettings:
        """Account name, subdomain, country and time zone."""
        return ClinikoSettings.from_json(self._get("settings"))

    def patient_web_url(self, subdomain: str, patient_id: str) -> str:
        """Link to the patient in the Cliniko web app."""
        return patient_web_url(subdomain, self.shard, patient_id)

    # ---- patients --------------------------------------------------------------------------
    def iter_patients(
        self, updated_since: datetime | None = None, include_archived: bool = False
    ) -> Iterator[Patient]:
        """Every patient (changed since `updated_since`), 100 per request."""
        for row in self._iter("patients", _since_filters(updated_since, include_archived)):
            yield Patient.from_json(row)

    def find_patients_by_email(self, email: str) -> list[Patient]:
        """Patients whose email is exactly `email`."""
        return [Patient.from_json(r) for r in self._iter("patients", [f"email:={email.strip()}"])]

    def get_patient(self, patient_id: str) -> Patient:
        """One patient by id."""
        return Patient.from_json(self._get(f"patients/{_seg(patient_id)}"))

    def create_patient(
        self, first_name: str, last_name: str, email: str | None = None, **fields: Any
    ) -> Patient:
        """Create a patient; extra Cliniko fields (notes, date_of_birth, ...) pass through."""
        body = {"first_name": first_name, "last_name": last_name, **fields}
        if email:
            body["email"] = email
        return Patient.from_json(self._create("patients", body))

    def update_patient(self, patient_id: str, **fields: Any) -> Patient:
        """Change some of a patient's fields (e.g. notes)."""
        return Patient.from_json(self._patch(f"patients/{_seg(patient_id)}", fields))

    # ---- billable items, products, taxes ---------------------------------------------------
    def iter_billable_items(
        self, updated_since: datetime | None = None, include_archived: bool = False
    ) -> Iterator[BillableItem]:
        """Every billable item (changed since `updated_since`)."""
        for row in self._iter("billable_items", _since_filters(updated_since, include_archived)):
            yield BillableItem.from_json(row)

    def find_billable_item_by_code(
        self, code: str, include_archived: bool = True
    ) -> BillableItem | None:
        """The billable item with this item code, preferring a live one over an archived one."""
        matches = [
            item for item in self._items_by_code(code, include_archived) if item.item_code == code
        ]
        matches.sort(key=lambda item: item.archived_at is not None)
        return matches[0] if matches else None

    def create_billable_item(
        self, name: str, item_code: str, item_type: str, price: Decimal, tax_id: str | None = None
    ) -> BillableItem:
        """Create a billable item (item_type is "Service", "Product" or "Other")."""
        body: dict[str, Any] = {"name": name, "item_code": item_code, "item_type": item_type}
        body["price"] = price
        if tax_id is not None:
            body["tax_id"] = str(tax_id)
        return BillableItem.from_json(self._create("billable_items", body))

    def update_billable_item(self, item_id: str, **fields: Any) -> BillableItem:
        """Change some of a billable item's fields (e.g. price, name)."""
        return BillableItem.from_json(self._patch(f"billable_items/{_seg(item_id)}", fields))

    def archive_billable_item(self, item_id: str) -> None:
        """Archive a billable item so staff can no longer add it; safe to repeat."""
        self._http.request("POST", f"billable_items/{_seg(item_id)}/archive", idempotent=True)

    def iter_products(
        self, updated_since: datetime | None = None, include_archived: bool = False
    ) -> Iterator[Product]:
        """Every product (changed since `updated_since`)."""
        for row in self._iter("products", _since_filters(updated_since, include_archived)):
            yield Product.from_json(row)

    def iter_taxes(self) -> Iterator[Tax]:
        """Every tax."""
        for row in self._iter("taxes", []):
            yield Tax.from_json(row)

    # ---- invoices (read-only in Cliniko's API) ---------------------------------------------
    def iter_invoices(
        self, updated_since: datetime | None = None, include_archived: bool = False
    ) -> Iterator[Invoice]:
        """Every invoice (changed since `updated_since`)."""
        for row in self._iter("invoices", _since_filters(updated_since, include_archived)):
            yield Invoice.from_json(row)

    def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice by id."""
        return Invoice.from_json(self._get(f"invoices/{_seg(invoice_id)}"))

    def iter_invoice_items(
        self,
        invoice_ids: Collection[str] | None = None,
        updated_since: datetime | None = None,
    ) -> Iterator[InvoiceItem]:
        """Invoice lines: of these invoices (one filter, `invoice_id:=1,2,3`: the docs say a
        numeric `=` takes a list), or all, or those changed since `updated_since`. A line of
        another invoice (a server ignoring the list) is left out."""
        filters = _since_filters(updated_since, include_archived=False)
        wanted = {str(i) for i in invoice_ids} if invoice_ids is not None else None
        if wanted is not None:
            if not wanted:
                return
            if not all(i.isdigit() for i in wanted):  # ids are numbers; anything else alone
                for one in sorted(wanted):
                    yield from self._invoice_items([*filters, f"invoice_id:={one}"], {one})
                return
            filters.append(f"invoice_id:={','.join(sorted(wanted))}")
        yield from self._invoice_items(filters, wanted)

    def _invoice_items(self, filters: list[str], wanted: set[str] | None) -> Iterator[InvoiceItem]:
        for row in self._iter("invoice_items", filters):
            line = InvoiceItem.from_json(row)
            if wanted is None or line.invoice_id in wanted:
                yield line

    # ---- raw records, for callers that need fields the dataclasses leave out ----------------
    def iter_records(self, resource: str, filters: list[str]) -> Iterator[dict[str, Any]]:
        """Rows of a list endpoint as Cliniko sends them (e.g. patients with addresses)."""
        return self._iter(resource, filters)

    def get_patient_record(self, patient_id: str, include_archived: bool = True) -> dict[str, Any]:
        """One patient as Cliniko sends it; archived ones need the archived_at filter to show."""
        params = [("q[]", "archived_at:*")] if include_archived else None
        record: dict[str, Any] = self._get(f"patients/{_seg(patient_id)}", params)
        return record

    # ---- plumbing --------------------------------------------------------------------------
    def _get(self, path: str, params: Any = None) -> Any:
        response = self._http.request("GET", path, params=params)
        return base.decode_json(response, SERVICE) or {}

    def _iter(self, resource: str, filters: list[str]) -> Iterator[dict[str, Any]]:
        """Follow `links.next` page by page, as the docs ask (data may change underneath)."""
        params: Any = [("per_page", PER_PAGE), *(("q[]", f) for f in filters)]
        url: str | None = resource
        while url:
            body = self._get(url, params)
            yield from body.get(resource) or []
            url = (body.get("links") or {}).get("next")
            params = None  # the next link already carries the query

    def _items_by_code(self, code: str, include_archived: bool) -> Iterator[BillableItem]:
        filters = ["archived_at:*"] if include_archived else []
        if ASSUMED_ITEM_CODE_FILTERABLE:
            try:
                rows = list(self._iter("billable_items", [*filters, f"item_code:={code}"]))
            except ValidationError:
                pass  # "This column is not searchable": scan everything below
            else:
                yield from map(BillableItem.from_json, rows)
                return
        yield from self.iter_billable_items(include_archived=include_archived)

    def _create(self, resource: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self._http.request("POST", resource, json=_wire(body))
        created = base.decode_json(response, SERVICE)
        location = response.headers.get("Location")
        if not created and location:
            # 201 + Location is what the docs promise; the body is a bonus when present.
            return dict(self._get(location))
        return dict(created or {})

    def _patch(self, path: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        # PATCH sets fields to given values, so repeating it is harmless: allow retries.
        response = self._http.request("PATCH", path, json=_wire(fields), idempotent=True)
        return dict(base.decode_json(response, SERVICE) or self._get(path))
