"""What the portal reads from Cliniko, as small frozen dataclasses (money as Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .parsing import link_id, opt_str, to_date, to_datetime, to_decimal, to_id

ZERO = Decimal(0)


@dataclass(frozen=True)
class ClinikoUser:
    """The user who owns the API key."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    role: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClinikoUser:
        return cls(
            to_id(d.get("id")),
            d.get("first_name") or "",
            d.get("last_name") or "",
            opt_str(d.get("email")),
            opt_str(d.get("role")),
        )


@dataclass(frozen=True)
class ClinikoSettings:
    """The account: its name, web subdomain, country and time zone."""

    account_name: str
    subdomain: str
    country: str | None
    time_zone: str | None
    time_zone_identifier: str | None = None  # IANA, e.g. Australia/Perth

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClinikoSettings:
        account = d.get("account") or {}
        return cls(
            account.get("name") or "",
            account.get("subdomain") or "",
            opt_str(account.get("country")),
            opt_str(account.get("time_zone")),
            opt_str(account.get("time_zone_identifier")),
        )


@dataclass(frozen=True)
class Patient:
    """A patient, with the fields the portal matches and annotates on."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    date_of_birth: date | None
    notes: str | None
    archived_at: datetime | None
    updated_at: datetime | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Patient:
        return cls(
            to_id(d.get("id")),
            d.get("first_name") or "",
            d.get("last_name") or "",
            opt_str(d.get("email")),
            to_date(d.get("date_of_birth")),
            opt_str(d.get("notes")),
            to_datetime(d.get("archived_at")),
            to_datetime(d.get("updated_at")),
        )


@dataclass(frozen=True)
class BillableItem:
    """A service/product line staff can add to an invoice (vouchers are negative-price items)."""

    id: str
    name: str
    item_code: str | None
    item_type: str
    price: Decimal
    tax_id: str | None
    archived_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BillableItem:
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("item_code")),
            d.get("item_type") or "",
            to_decimal(d.get("price")) or ZERO,
            link_id(d.get("tax")),
            to_datetime(d.get("archived_at")),
            to_datetime(d.get("updated_at")),
        )


@dataclass(frozen=True)
class Product:
    """A stocked product."""

    id: str
    name: str
    item_code: str | None
    price_ex_tax: Decimal | None
    price_including_tax: Decimal | None
    tax_id: str | None
    stock_level: int | None
    archived_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Product:
        stock = d.get("stock_level")
        return cls(
            to_id(d.get("id")),
            d.get("name") or "",
            opt_str(d.get("item_code")),
            to_decimal(d.get("price_ex_tax")),
            to_decimal(d.get("price_including_tax")),
            link_id(d.get("tax")),
            None if stock is None else int(stock),
            to_datetime(d.get("archived_at")),
            to_datetime(d.get("updated_at")),
        )


@dataclass(frozen=True)
class Tax:
    """A tax and its rate as a percentage (Cliniko's `amount` is the same deprecated number)."""

    id: str
    name: str
    rate: Decimal

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Tax:
        rate = to_decimal(d.get("rate"))
        return cls(to_id(d.get("id")), d.get("name") or "", rate or ZERO)


@dataclass(frozen=True)
class Invoice:
    """An invoice (read-only in the API); status 10 Open, 20 Paid, 30 Closed, 40 Open credit."""

    id: str
    number: int | None
    issue_date: date | None
    status: int | None
    status_description: str | None
    total_amount: Decimal | None
    net_amount: Decimal | None
    tax_amount: Decimal | None
    patient_id: str | None
    practitioner_id: str | None
    business_id: str | None
    closed_at: datetime | None
    archived_at: datetime | None
    deleted_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Invoice:
        number, status = d.get("number"), d.get("status")
        return cls(
            to_id(d.get("id")),
            None if number in (None, "") else int(number),
            to_date(d.get("issue_date")),
            None if status in (None, "") else int(status),
            opt_str(d.get("status_description")),
            to_decimal(d.get("total_amount")),
            to_decimal(d.get("net_amount")),
            to_decimal(d.get("tax_amount")),
            link_id(d.get("patient")),
            link_id(d.get("practitioner")),
            link_id(d.get("business")),
            to_datetime(d.get("closed_at")),
            to_datetime(d.get("archived_at")),
            to_datetime(d.get("deleted_at")),
            to_datetime(d.get("updated_at")),
        )


@dataclass(frozen=True)
class InvoiceItem:
    """One invoice line; `tax_amount` is a rate in disguise, so it is deliberately left out."""

    id: str
    invoice_id: str | None
    name: str
    code: str | None
    quantity: Decimal
    unit_price: Decimal | None
    discounted_amount: Decimal | None
    net_price: Decimal | None
    tax_name: str | None
    tax_rate: Decimal | None
    total_including_tax: Decimal | None
    billable_item_id: str | None
    product_id: str | None
    archived_at: datetime | None
    deleted_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InvoiceItem:
        return cls(
            to_id(d.get("id")),
            link_id(d.get("invoice")),
            d.get("name") or "",
            opt_str(d.get("code")),
            # Decimal quantities (e.g. 0.5) exist on newer invoices.
            to_decimal(d.get("quantity")) or ZERO,
            to_decimal(d.get("unit_price")),
            to_decimal(d.get("discounted_amount")),
            to_decimal(d.get("net_price")),
            opt_str(d.get("tax_name")),
            to_decimal(d.get("tax_rate")),
            to_decimal(d.get("total_including_tax")),
            link_id(d.get("billable_item")),
            link_id(d.get("product")),
            to_datetime(d.get("archived_at")),
            to_datetime(d.get("deleted_at")),
            to_datetime(d.get("updated_at")),
        )
