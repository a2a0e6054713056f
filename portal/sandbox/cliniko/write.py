"""Cliniko's writable fields and their validation: 422 with one string per field (cliniko.md §1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core import parse_date, to_decimal
from .assumptions import CLINIKO_MISSING_REFERENCE
from .store import ClinikoAccount

BLANK = "can\u2019t be blank"  # U+2019, exactly as Cliniko writes it
ITEM_TYPES = ("Product", "Service", "Other")
PATIENT_TEXT = (
    "title",
    "first_name",
    "last_name",
    "preferred_first_name",
    "email",
    "address_1",
    "address_2",
    "address_3",
    "city",
    "state",
    "post_code",
    "country",
    "country_code",
    "notes",
    "occupation",
    "medicare",
    "medicare_reference_number",
    "dva_card_number",
    "old_reference_id",
    "referral_source",
    "reminder_type",
    "sex",
    "gender_identity",
    "pronouns",
    "emergency_contact",
    "invoice_default_to",
    "invoice_email",
    "invoice_extra_information",
    "time_zone",
)
REQUIRED = {
    "patients": ("first_name", "last_name"),
    "billable_items": ("name", "item_type", "price"),
    "products": ("name",),
    "taxes": ("name", "rate"),
}


def _patient(body: dict[str, Any], changes: dict[str, Any], errors: dict[str, str]) -> None:
    for key in PATIENT_TEXT:
        if key in body:
            changes[key] = None if body[key] is None else str(body[key])
    if "date_of_birth" in body:
        try:
            changes["date_of_birth"] = body["date_of_birth"] and parse_date(body["date_of_birth"])
        except (TypeError, ValueError):
            errors["date_of_birth"] = "is not a valid date"
    phones = body.get("patient_phone_numbers")
    if phones is not None:
        if isinstance(phones, list) and all(isinstance(p, dict) for p in phones):
            changes["patient_phone_numbers"] = [
                {"phone_type": p.get("phone_type", "Mobile"), "number": str(p.get("number", ""))}
                for p in phones
            ]
        else:
            errors["patient_phone_numbers"] = "must be an array"


def _money(
    body: dict[str, Any],
    key: str,
    changes: dict[str, Any],
    errors: dict[str, str],
    target: str | None = None,
) -> None:
    if key in body and body[key] not in (None, ""):
        amount = to_decimal(body[key])
        if amount is None:
            errors[key] = "is not a number"
        else:
            changes[target or key] = amount


def _tax(
    account: ClinikoAccount, body: dict[str, Any], changes: dict[str, Any], errors: dict[str, str]
) -> None:
    if "tax_id" in body:
        tax_id = body["tax_id"]
        if tax_id in (None, ""):
            changes["tax_id"] = None
        elif account.table("taxes").get(str(tax_id)) is None:
            errors["tax"] = CLINIKO_MISSING_REFERENCE
        else:
            changes["tax_id"] = str(tax_id)


def _billable(
    account: ClinikoAccount, body: dict[str, Any], changes: dict[str, Any], errors: dict[str, str]
) -> None:
    for key in ("name", "item_code"):
        if key in body:
            changes[key] = None if body[key] is None else str(body[key])
    if "item_type" in body:
        if body["item_type"] in ITEM_TYPES:
            changes["item_type"] = body["item_type"]
        elif body["item_type"] not in (None, ""):
            errors["item_type"] = "is not included in the list"
    _money(body, "price", changes, errors)
    _tax(account, body, changes, errors)


def _product(
    account: ClinikoAccount, body: dict[str, Any], changes: dict[str, Any], errors: dict[str, str]
) -> None:
    for key in ("name", "item_code", "serial_number", "notes", "product_supplier_name"):
        if key in body:
            changes[key] = None if body[key] is None else str(body[key])
    _money(body, "price", changes, errors, target="price_ex_tax")
    _money(body, "cost_price", changes, errors)
    _tax(account, body, changes, errors)
    if "price_ex_tax" in changes:
        changes["price_including_tax"] = (changes["price_ex_tax"] * Decimal("1.1")).quantize(
            Decimal("0.01")
        )


def _taxes(body: dict[str, Any], changes: dict[str, Any], errors: dict[str, str]) -> None:
    if "name" in body:
        changes["name"] = None if body["name"] is None else str(body["name"])
    _money(body, "rate", changes, errors)
    if "rate" in changes:
        changes["amount"] = changes["rate"]


def clean(
    account: ClinikoAccount,
    plural: str,
    body: dict[str, Any],
    creating: bool,
    current: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Writable changes from a request body and Rails-style errors, one string per field."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if plural == "patients":
        _patient(body, changes, errors)
    elif plural == "billable_items":
        _billable(account, body, changes, errors)
    elif plural == "products":
        _product(account, body, changes, errors)
    else:
        _taxes(body, changes, errors)
    merged = {**(current or {}), **changes}
    for key in REQUIRED[plural]:
        stored = "price_ex_tax" if plural == "products" and key == "price" else key
        if (creating or key in changes) and merged.get(stored) in (None, "") and key not in errors:
            errors[key] = BLANK
    return changes, errors


def blank_row(plural: str) -> dict[str, Any]:
    """Defaults for fields a create body leaves out."""
    base: dict[str, Any] = {"archived_at": None}
    if plural == "patients":
        base.update(
            {key: None for key in PATIENT_TEXT},
            patient_phone_numbers=[],
            date_of_birth=None,
            deleted_at=None,
            country="Australia",
        )
    elif plural == "billable_items":
        base.update(name=None, item_code=None, item_type=None, price=None, tax_id=None)
    elif plural == "products":
        base.update(
            name=None,
            item_code=None,
            serial_number=None,
            notes="",
            cost_price=None,
            price_ex_tax=None,
            price_including_tax=None,
            stock_level=0,
            product_supplier_name=None,
            tax_id=None,
        )
    return base
