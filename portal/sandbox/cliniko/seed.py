"""Deterministic, realistic Cliniko data for one clinic (cliniko.md §4 field lists)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..names import person
from ..store import Row
from ..story import VoucherStory
from .invoices import InvoiceFacts, Line, add_invoice
from .seed_rows import (
    PRODUCTS,
    SERVICES,
    business_row,
    patient_row,
    practitioner_row,
    product_row,
    tax_row,
    user_row,
)
from .store import ClinikoAccount


@dataclass(frozen=True)
class Ref:
    """A seed row's placeholder id, replaced once rows are sorted into creation order."""

    plural: str
    n: int


class Draft:
    """Collects rows in any order, then inserts each table sorted by created_at with real ids."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {}

    def add(self, plural: str, row: Row) -> Ref:
        rows = self.rows.setdefault(plural, [])
        row["id"] = ref = Ref(plural, len(rows))
        rows.append(row)
        return ref

    def commit(self, account: ClinikoAccount) -> None:
        real: dict[Ref, str] = {}
        for rows in self.rows.values():
            rows.sort(key=lambda r: r["created_at"])
            for row in rows:
                real[row["id"]] = account.ids.next()
        for plural, rows in self.rows.items():
            table = account.table(plural)
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, Ref):
                        row[key] = real[value]
                table.insert(row)


@dataclass
class Catalogue:
    """The rows invoices are built from."""

    taxes: dict[str, tuple[Ref, Decimal]]
    services: list[Row]
    products: list[Row]
    practitioners: list[Ref]
    business: Ref


def _catalogue(
    draft: Draft, rng: random.Random, account: ClinikoAccount, anchor: datetime
) -> Catalogue:
    opened = anchor - timedelta(days=900)
    taxes = {
        name: (draft.add("taxes", tax_row(name, rate, opened)), Decimal(rate))
        for name, rate in (("GST", "10"), ("GST Free", "0"))
    }
    user = draft.add("users", user_row(rng, account.clinic, opened))
    business = draft.add("businesses", business_row(rng, account.clinic, opened))
    practitioners = [
        draft.add(
            "practitioners", practitioner_row(rng, account.clinic, opened, user if i == 0 else None)
        )
        for i in range(3)
    ]
    services = []
    for i, (name, code, price) in enumerate(SERVICES[account.clinic.profession]):
        row = {
            "id": None,
            "name": name,
            "item_code": code,
            "item_type": "Service",
            "price": Decimal(price),
            "tax_id": taxes["GST Free"][0],
            "archived_at": None,
            "created_at": opened + timedelta(minutes=i),
            "updated_at": opened + timedelta(minutes=i),
        }
        draft.add("billable_items", row)
        services.append(row)
    products = [
        product_row(name, code, price, taxes["GST"][0], opened) for name, code, price in PRODUCTS
    ]
    for row in products:
        draft.add("products", row)
    return Catalogue(taxes, services, products, practitioners, business)


def _service_line(cat: Catalogue, row: Row) -> Line:
    return Line(
        row["id"],
        False,
        row["name"],
        row["item_code"],
        "Service",
        row["price"],
        "GST Free",
        cat.taxes["GST Free"][1],
    )


def _product_line(cat: Catalogue, row: Row, quantity: int) -> Line:
    return Line(
        row["id"],
        True,
        row["name"],
        row["item_code"],
        "Product",
        row["price_ex_tax"],
        "GST",
        cat.taxes["GST"][1],
        quantity,
    )


def _voucher_item(draft: Draft, cat: Catalogue, story: VoucherStory) -> Row:
    """The billable item the VaocherApp integration makes: code = voucher code, negative price."""
    when = story.created_at + timedelta(minutes=2)
    row = {
        "id": None,
        "name": f"Gift voucher {story.code}",
        "item_code": story.code,
        "item_type": "Other",
        "price": -Decimal(story.amount) / 100,
        "tax_id": cat.taxes["GST Free"][0],
        "archived_at": None,
        "created_at": when,
        "updated_at": when,
    }
    draft.add("billable_items", row)
    return row


def seed_cliniko(
    account: ClinikoAccount,
    rng: random.Random,
    anchor: datetime,
    stories: list[VoucherStory],
    scale: int,
) -> None:
    """Fill one account: catalogue, patients, voucher items and invoices."""
    draft = Draft()
    cat = _catalogue(draft, rng, account, anchor)
    patients: list[Any] = []
    for _ in range(25 * scale):
        created = anchor - timedelta(days=rng.randint(200, 700), seconds=rng.randint(0, 86_399))
        patients.append(draft.add("patients", patient_row(rng, person(rng), created)))
    patients_row = draft.rows["patients"]
    patients_row[3]["archived_at"] = patients_row[3]["updated_at"] = anchor - timedelta(days=40)
    invoices: list[tuple[datetime, InvoiceFacts, list[Line]]] = []
    for story in stories:
        if story.in_cliniko:
            _voucher_story(draft, cat, rng, story, anchor, invoices)
    _treatment_invoices(cat, rng, anchor, patients, scale, invoices)
    invoices.sort(key=lambda entry: entry[0])
    for _when, facts, lines in invoices:
        facts = InvoiceFacts(**{**facts.__dict__, "number": next(account.invoice_numbers)})
        add_invoice(draft, facts, lines)
    draft.commit(account)


def _voucher_story(
    draft: Draft,
    cat: Catalogue,
    rng: random.Random,
    story: VoucherStory,
    anchor: datetime,
    invoices: list,
) -> None:
    patient = draft.add(
        "patients", patient_row(rng, story.purchaser, story.created_at + timedelta(minutes=1))
    )
    item = _voucher_item(draft, cat, story)
    if story.use is None:
        return
    days_ago = rng.randint(20, 29) if story.use == "done" else rng.randint(1, 15)
    created = anchor - timedelta(days=days_ago, seconds=-rng.randint(0, 25_200))
    if story.use == "done":  # the voucher's code was used up and the integration archived it
        item["archived_at"] = item["updated_at"] = created + timedelta(days=1)
    voucher = Line(
        item["id"], False, item["name"], story.code, "Other", item["price"], "GST Free", Decimal(0)
    )
    treatment = _service_line(cat, cat.services[1])
    facts = InvoiceFacts(
        0,
        created.date(),
        patient,
        rng.choice(cat.practitioners),
        cat.business,
        created,
        paid=story.use in ("less", "done"),
    )
    invoices.append((created, facts, [treatment, voucher]))


def _treatment_invoices(
    cat: Catalogue, rng: random.Random, anchor: datetime, patients: list, scale: int, invoices: list
) -> None:
    """Everyday invoices: mostly paid, some open, one closed unpaid, one archived, some with GST."""
    count = 20 * scale
    for n in range(count):
        created = anchor - timedelta(days=rng.randint(1, 180), seconds=-rng.randint(0, 25_200))
        lines = [_service_line(cat, rng.choice(cat.services))]
        if rng.random() < 0.3:
            lines.append(_product_line(cat, rng.choice(cat.products), rng.randint(1, 2)))
        facts = InvoiceFacts(
            0,
            created.date(),
            rng.choice(patients),
            rng.choice(cat.practitioners),
            cat.business,
            created,
            paid=rng.random() < 0.7,
            archived_at=created + timedelta(hours=2) if n == 1 else None,
            status=30 if n == 2 else None,
        )
        invoices.append((created, facts, lines))
