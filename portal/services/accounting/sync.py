"""Sync one Cliniko record to Reckon: items, customers, invoices (approved) and payment receipts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect

from portal.clients.cliniko_models import BillableItem, Invoice, InvoiceItem, Product
from portal.clients.errors import ValidationError
from portal.clients.reckon import ReckonClient
from portal.clients.reckon_models import Allocation
from portal.models import AccountingSettings, Clinic, EntityKind, SyncRecord, SyncState
from portal.services import DomainError
from portal.services.accounting import map as m
from portal.services.accounting.push import (
    Breaker,
    Push,
    new_sync_record,
    push_record,
    records_by_id,
)


@dataclass
class SyncEnv:
    """Everything a record handler needs for one run."""

    clinic: Clinic
    settings: AccountingSettings
    reckon: ReckonClient
    book_id: str
    rates: dict[str, Decimal]  # Reckon sales tax code → rate
    checkpoint: Callable[[], None]
    breaker: Breaker = field(default_factory=Breaker)
    names: dict[str, str] = field(default_factory=dict)  # customer name → Cliniko patient id
    # The clinic's cross-references, by kind then Cliniko id: loaded once (load_records), then
    # every record made during the run is added, so lookups never go back to the database.
    known: dict[str, dict[str, SyncRecord]] = field(default_factory=dict)

    def load_records(self) -> None:
        kinds = (EntityKind.ITEM, EntityKind.CUSTOMER, EntityKind.INVOICE, EntityKind.PAYMENT)
        self.known = {kind: records_by_id(self.clinic, kind) for kind in kinds}
        self.names = {r.label: r.cliniko_id for r in self.customers.values() if r.label}

    @property
    def items(self) -> dict[str, SyncRecord]:
        return self.known[EntityKind.ITEM]

    @property
    def customers(self) -> dict[str, SyncRecord]:
        return self.known[EntityKind.CUSTOMER]

    def push(self, rec: SyncRecord, push: Push) -> str:
        return push_record(rec, push, m.payload_hash(push.body), self.breaker, self.checkpoint)

    def record(self, kind: str, cliniko_id: str, **defaults: Any) -> SyncRecord:
        """The cross-reference of a Cliniko record: the loaded one, else a new (pending) one."""
        known = self.known[kind]
        rec = known.get(cliniko_id)
        if rec is None or inspect(rec).transient:  # new, or new and then rolled back
            rec = known[cliniko_id] = new_sync_record(self.clinic, kind, cliniko_id)
        for name, value in defaults.items():
            setattr(rec, name, value)
        return rec


def _id_of(found: Any) -> str | None:
    return found.id if found else None


# ---- items -----------------------------------------------------------------------------------
def sync_item(env: SyncEnv, key: str, item: BillableItem | Product) -> str:
    """A product or billable item → a Reckon item (found by its item code)."""
    body = m.item_body(env.settings, key, item)
    rec = env.record(EntityKind.ITEM, key, label=item.name[:200])
    told_apart = {**body, "name": f"{body['name'][:90]} [{key}]"}
    if (rec.details or {}).get("name_told_apart"):  # as sent last time, so unchanged is unchanged
        return env.push(rec, _item_push(env, told_apart))
    try:
        return env.push(rec, _item_push(env, body))
    except ValidationError as exc:
        if "name" not in exc.fields or body["name"].endswith("]"):
            raise
    # Reckon names are unique: a product and a service may share one in Cliniko.
    rec.details = {**(rec.details or {}), "name_told_apart": True}
    return env.push(rec, _item_push(env, told_apart))


def _item_push(env: SyncEnv, body: dict[str, Any]) -> Push:
    book, code = env.book_id, body["item_code"]
    sale = {k: body[k] for k in ("price",)} | {
        "taxRate": body["tax_rate"],
        "ledgerAccount": body["ledger_account"],
    }

    def update(reckon_id: str) -> None:
        env.reckon.update_item(
            book,
            reckon_id,
            name=body["name"],
            itemType=body["item_type"],
            amountTaxStatus=body["amount_tax_status"],
            sale=sale,
        )

    return Push(
        body,
        find=lambda: _id_of(env.reckon.find_item_by_code(book, code)),
        create=lambda: env.reckon.create_item(book, **body),
        update=update,
    )


# ---- customers -------------------------------------------------------------------------------
def sync_customer(env: SyncEnv, row: dict[str, Any]) -> str:
    """A patient → a Reckon customer; namesakes get the configured distinguishing mark."""
    patient_id = str(row["id"])
    plain = m.customer_name(row, env.settings, taken=False)
    taken = env.names.setdefault(plain, patient_id) != patient_id
    rec = env.record(EntityKind.CUSTOMER, patient_id)
    try:
        return _push_customer(env, rec, row, taken)
    except ValidationError as exc:
        if taken or "name" not in exc.fields:
            raise
    return _push_customer(env, rec, row, True)  # someone in Reckon already has the plain name


def _push_customer(env: SyncEnv, rec: SyncRecord, row: dict[str, Any], taken: bool) -> str:
    name, fields = m.customer_name(row, env.settings, taken), m.customer_fields(row)
    rec.label = name
    book, marker = env.book_id, fields["notes"]

    def find() -> str | None:
        found = env.reckon.find_customer_by_name(book, name)
        return found.id if found and (found.notes or "") == marker else None

    push = Push(
        {"name": name, **fields},
        find=find,
        create=lambda: env.reckon.create_customer(book, name, **fields),
        update=lambda rid: env.reckon.update_customer(book, rid, name=name, **fields),
    )
    return env.push(rec, push)


# ---- invoices --------------------------------------------------------------------------------
def invoice_record(env: SyncEnv, invoice: Invoice) -> SyncRecord:
    """The invoice's cross-reference, with the Cliniko facts payments and reports need."""
    tz = ZoneInfo(env.clinic.timezone)
    paid_on = invoice.closed_at.astimezone(tz).date() if invoice.closed_at else None
    details = {
        "number": invoice.number,
        "status": invoice.status,
        "total": str(invoice.total_amount),
        "patient_id": invoice.patient_id,
        "issue_date": str(invoice.issue_date),
        "paid_on": str(paid_on or invoice.issue_date),
    }
    return env.record(
        EntityKind.INVOICE,
        invoice.id,
        reference=m.REFERENCE.format(number=invoice.number),
        label=f"Invoice #{invoice.number}",
        details=details,
    )


def sync_invoice(env: SyncEnv, invoice: Invoice, lines: list[InvoiceItem]) -> str:
    """An issued Cliniko invoice → an approved Reckon invoice that adds up to the same cents."""
    rec = invoice_record(env, invoice)
    action = m.invoice_action(invoice)
    if action:
        rec.state = SyncState.NEEDS_ACTION
        where = "it is in Reckon: void or credit it there" if rec.reckon_id else "not sent"
        rec.message = f"{action}; {where}."
        raise m.NeedsAction(rec.message)
    customer = env.customers.get(invoice.patient_id or "")
    if customer is None or not customer.reckon_id:
        raise DomainError("The patient is not in Reckon yet (see the customer's outcome).")
    body = _invoice_body(env, invoice, lines, customer.reckon_id)
    rec.details = {**rec.details, "customer": customer.reckon_id}
    # Paid in Cliniko, whatever the source (card, cash, account credit). A $0 invoice (e.g. all
    # voucher) is Paid in Reckon as soon as it is approved, so it needs no receipt.
    if invoice.status == 20 and (invoice.total_amount or 0) > 0:
        env.record(EntityKind.PAYMENT, invoice.id, label=rec.label)
    return env.push(rec, _invoice_push(env, body))


def _invoice_body(
    env: SyncEnv, invoice: Invoice, lines: list[InvoiceItem], customer_id: str
) -> dict[str, Any]:
    plan, taxes = m.InvoicePlan(), []
    for it in lines:
        key = (
            m.product_key(it.product_id)
            if it.product_id
            else m.billable_key(it.billable_item_id or "")
        )
        item = env.items.get(key)
        if item is None or not item.reckon_id:
            raise DomainError(f"Line '{it.name}': the item is not in Reckon yet.")
        code = _tax_code(env, key, item, it)
        line, tax = m.line_for(it, item.reckon_id, code, env.rates[code])
        plan.lines.append(line)
        taxes.append(tax)
    m.fit_tax(plan, taxes, m.invoice_totals(invoice)[1])
    return {
        "customer": customer_id,
        "invoice_date": invoice.issue_date,
        "reference": m.REFERENCE.format(number=invoice.number),
        "lines": [ln.to_json(i) for i, ln in enumerate(plan.lines, 1)],
        "_lines": plan.lines,
    }


def _tax_code(env: SyncEnv, key: str, item: SyncRecord, line: InvoiceItem) -> str:
    kind = "product" if key.startswith("pr-") else _kind_of(line)
    code = m.tax_code_for(env.settings, key, kind)
    if code not in env.rates:
        raise m.MappingError(f"Tax code {code} is not a sales tax code in the Reckon book.")
    cliniko_rate = line.tax_rate or Decimal(0)
    if cliniko_rate != env.rates[code]:
        raise m.MappingError(
            f"Line '{line.name}': Cliniko charged {cliniko_rate:g}% tax but tax code {code} is "
            f"{env.rates[code]:g}%. Change the item's tax code in the accounting settings."
        )
    return code


def _kind_of(line: InvoiceItem) -> str:
    return "voucher" if (line.unit_price or Decimal(0)) < 0 else "service"


def _invoice_push(env: SyncEnv, body: dict[str, Any]) -> Push:
    book, reference = env.book_id, body["reference"]
    sent = {k: v for k, v in body.items() if k != "_lines"}

    def create() -> str:
        new_id = env.reckon.create_invoice(
            book, body["customer"], body["invoice_date"], body["_lines"], reference=reference
        )
        env.reckon.update_invoice(book, new_id, status="Approved")  # API creates are Draft
        return new_id

    def update(reckon_id: str) -> None:
        env.reckon.update_invoice(
            book,
            reckon_id,
            customer=body["customer"],
            invoiceDate=body["invoice_date"],
            amountTaxStatus="Inclusive",
            reference=reference,
            lineItems=body["lines"],
            status="Approved",
        )

    return Push(
        sent,
        find=lambda: _id_of(env.reckon.find_invoice_by_reference(book, reference)),
        create=create,
        update=update,
    )


# ---- payments --------------------------------------------------------------------------------
def sync_payment(env: SyncEnv, payment: SyncRecord, invoice: SyncRecord) -> str:
    """A paid Cliniko invoice → a receipt into the clearing account, allocated to the invoice."""
    if not invoice.reckon_id or invoice.state != SyncState.SYNCED:
        raise DomainError("The invoice is not in Reckon yet.")
    details = invoice.details or {}
    amount, paid_on = Decimal(details["total"]), date.fromisoformat(details["paid_on"])
    reference = m.PAYMENT_REFERENCE.format(number=details["number"])
    body = {"invoice": invoice.reckon_id, "amount": str(amount), "date": str(paid_on)}
    if payment.reckon_id and payment.pushed_hash and payment.pushed_hash != m.payload_hash(body):
        payment.state = SyncState.NEEDS_ACTION
        payment.message = "The invoice changed in Cliniko after its payment was sent; check it."
        raise m.NeedsAction(payment.message)
    payment.reference = reference
    book, settings = env.book_id, env.settings
    push = Push(
        body,
        find=lambda: _id_of(env.reckon.find_receipt_by_reference(book, reference)),
        create=lambda: env.reckon.create_receipt(
            book,
            details["customer"],
            paid_on,
            amount,
            reference=reference,
            allocations=[Allocation(invoice.reckon_id or "", amount)],
            ledger_account=settings.clearing_account,
            payment_method=settings.payment_method,
            notes=f"Paid in Cliniko ({invoice.label})",
        ),
    )
    return env.push(payment, push)
