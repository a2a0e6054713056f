"""Cliniko invoices → Reckon invoices, and the credit notes that keep every status in the books.

- Open credit (status 40, a voucher worth more than the treatment): the invoice is posted with
  its lines, the voucher line cut back so it totals zero, and the excess becomes a credit note
  for the customer (customer credit, applied later by `payments`).
- Written off (status 30): posted, then a credit note to the bad-debt account with the
  invoice's tax codes in proportion (GST reversed), applied to the invoice.
- Archived after it reached Reckon: reversed by a credit note with the invoice's lines, applied.
Credit notes are dated the day it happened in Cliniko (closed, archived), in the local zone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from portal.clients.cliniko_models import Invoice, InvoiceItem
from portal.models import EntityKind, SyncRecord, SyncState
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.accounting import map as m
from portal.services.accounting.push import Later, Push, Unchanged
from portal.services.accounting.sync import VOUCHER_ITEM_KEY, SyncEnv, id_of, steps

ZERO = Decimal(0)
CREDIT, WRITE_OFF, REVERSAL = "credit", "writeoff", "reversal"
REFERENCES = {
    CREDIT: m.CREDIT_REFERENCE,
    WRITE_OFF: m.WRITE_OFF_REFERENCE,
    REVERSAL: m.REVERSAL_REFERENCE,
}


def invoice_record(env: SyncEnv, invoice: Invoice) -> SyncRecord:
    """The invoice's cross-reference, with the Cliniko facts payments and reports need."""
    paid_on = env.local_date(invoice.closed_at, invoice.business_id)
    archived_on = env.local_date(invoice.archived_at or invoice.deleted_at, invoice.business_id)
    rec = env.record(
        EntityKind.INVOICE,
        invoice.id,
        reference=m.REFERENCE.format(number=invoice.number),
        label=f"Invoice #{invoice.number}",
    )
    rec.details = {
        **(rec.details or {}),
        "number": invoice.number,
        "status": invoice.status,
        "total": str(invoice.total_amount),
        "patient_id": invoice.patient_id,
        "issue_date": str(invoice.issue_date),
        "paid_on": str(paid_on or invoice.issue_date),
        "archived_on": str(archived_on) if archived_on else None,
    }
    return rec


def sync_invoice(env: SyncEnv, invoice: Invoice, lines: list[InvoiceItem]) -> str | Later:
    """An issued Cliniko invoice → an approved Reckon invoice that adds up to the same cents,
    plus the credit note its status needs."""
    rec = invoice_record(env, invoice)
    if m.invoice_archived(invoice):
        return _archived(env, invoice, rec)
    customer = env.customers.get(invoice.patient_id or "")
    if customer is None or not customer.reckon_id:
        raise DomainError("The patient is not in Reckon yet (see the customer's outcome).")
    body, excess = _invoice_body(env, invoice, lines, customer.reckon_id)
    rec.details = {**rec.details, "customer": customer.reckon_id, "vouchers": body["_vouchers"]}
    # Paid in Cliniko, whatever the source (card, cash, account credit). A $0 invoice (e.g. all
    # voucher) is Paid in Reckon as soon as it is approved, so it needs no receipt.
    if invoice.status == 20 and (invoice.total_amount or 0) > 0:
        env.record(EntityKind.PAYMENT, invoice.id, label=rec.label)
    # The invoice alone: its write may go on ahead, once the run knows how new invoices are
    # left Approved (`approval`).
    if not excess and invoice.status != 30 and env.approval.settled:
        return env.push_later(rec, _invoice_write(env, rec, body))
    writes: list[Callable[[], str | None]] = [lambda: env.push(rec, _invoice_write(env, rec, body))]
    if excess:
        writes.append(lambda: _credit(env, invoice, rec, CREDIT, excess, link=False))
    if invoice.status == 30:
        lines_by_code = _write_off_lines(env, body["_lines"], invoice)
        writes.append(lambda: _credit(env, invoice, rec, WRITE_OFF, lines_by_code, link=True))
    return steps(*writes)


def _invoice_write(env: SyncEnv, rec: SyncRecord, body: dict[str, Any]) -> Push:
    push = _invoice_push(env, body)
    if env.dry and not (rec.reckon_id and rec.pushed_hash == m.payload_hash(push.body)):
        env.plan.add_lines(body["invoice_date"], body["_codes"])
    return push


def _archived(env: SyncEnv, invoice: Invoice, rec: SyncRecord) -> str:
    if not rec.reckon_id or rec.reckon_id.startswith("(new"):
        if rec.state != SyncState.SYNCED:
            rec.state, rec.message = SyncState.SYNCED, ""
            rec.details = {**rec.details, "never_sent": True}
        raise Unchanged("Archived in Cliniko before it reached Reckon: nothing to post.")
    lines = _reversal_lines(env, rec)
    return steps(lambda: _credit(env, invoice, rec, REVERSAL, lines, link=True))


# ---- bodies ----------------------------------------------------------------------------------
def _invoice_body(
    env: SyncEnv, invoice: Invoice, lines: list[InvoiceItem], customer_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The invoice's body, and the credit-note lines carrying any excess over zero."""
    plan, taxes, codes = m.InvoicePlan(), [], []
    vouchers: dict[str, Decimal] = defaultdict(Decimal)
    for it in lines:
        key, kind = _key_and_kind(it)
        item = env.items.get(VOUCHER_ITEM_KEY if kind == "voucher" else key)
        if item is None or not item.reckon_id:
            raise DomainError(f"Line '{it.name}': the item is not in Reckon yet.")
        code = _tax_code(env, key, kind, it)
        line, tax = m.line_for(it, item.reckon_id, code, env.rates[code])
        if kind == "voucher":
            vouchers[it.code or it.name] -= m.cents(it.total_including_tax or ZERO)
            line = m.PricedLine(**{**line.__dict__, "description": _voucher_text(it)})
        plan.lines.append(line)
        taxes.append(tax)
        codes.append(code)
    m.fit_tax(plan, taxes, m.invoice_totals(invoice)[1])
    total = sum((_amount(ln) for ln in plan.lines), ZERO)
    excess = (
        [
            _note_line(plan.lines[i], take, "excess kept as account credit")
            for i, take in m.split_excess(plan.lines, -total)
        ]
        if total < 0
        else []
    )
    body = {
        "customer": customer_id,
        "invoice_date": invoice.issue_date,
        "reference": m.REFERENCE.format(number=invoice.number),
        "lines": [ln.to_json(i) for i, ln in enumerate(plan.lines, 1)],
        "payment_terms": env.settings.payment_terms or None,
        "_lines": plan.lines,
        "_codes": [(c, _amount(ln)) for c, ln in zip(codes, plan.lines, strict=True)],
        "_vouchers": {code: str(used) for code, used in vouchers.items()},
    }
    return body, excess


def _voucher_text(it: InvoiceItem) -> str:
    code = it.code or ""
    return it.name if code and code in it.name else f"Gift voucher {code}".strip()


def _amount(line: m.PricedLine) -> Decimal:
    return m.cents(line.price * line.quantity) - line.discount


def _key_and_kind(it: InvoiceItem) -> tuple[str, str]:
    if it.product_id:
        return m.product_key(it.product_id), "product"
    kind = "voucher" if (it.unit_price or ZERO) < 0 else "service"
    return m.billable_key(it.billable_item_id or ""), kind


def _tax_code(env: SyncEnv, key: str, kind: str, line: InvoiceItem) -> str:
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


def _note_line(line: m.PricedLine, amount: Decimal, why: str) -> dict[str, Any]:
    text = f"{line.description or 'Line'}: {why}"[:1000]
    return {
        "itemDetails": {"item": line.item, "price": amount, "quantity": 1},
        "taxRate": line.tax_rate,
        "description": text,
    }


def _write_off_lines(
    env: SyncEnv, lines: list[m.PricedLine], invoice: Invoice
) -> list[dict[str, Any]]:
    """The unpaid total to the bad-debt account, split over the invoice's tax codes in
    proportion, so each code's GST is reversed in proportion (Cliniko shows no part payments:
    a written-off invoice is taken as wholly unpaid)."""
    by_code: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_code[line.tax_rate] += _amount(line)
    return [
        {
            "accountDetails": {"ledgerAccount": env.settings.bad_debt_account, "amount": share},
            "taxRate": code,
            "description": f"Written off in Cliniko ({code})",
        }
        for code, share in m.proportional(by_code, m.invoice_totals(invoice)[0])
    ]


def _reversal_lines(env: SyncEnv, rec: SyncRecord) -> list[dict[str, Any]]:
    """The Reckon invoice's own lines, each as one amount (credit-note lines take no discount)."""
    note = env.known[EntityKind.CREDIT_NOTE].get(f"{rec.cliniko_id}:{REVERSAL}")
    if note is not None and note.state == SyncState.SYNCED:
        return list((note.details or {}).get("lines") or [])
    row = env.reckon.get_invoice_record(env.book_id, rec.reckon_id or "")
    out = []
    for line in row.get("lineItems") or []:
        details, rate = line.get("itemDetails") or {}, (line.get("taxRate") or {}).get("name")
        price, qty = (
            Decimal(str(details.get("price") or 0)),
            Decimal(str(details.get("quantity") or 1)),
        )
        amount = m.cents(price * qty) - Decimal(str(details.get("discountAmount") or 0))
        new: dict[str, Any] = {
            "itemDetails": {
                "item": (details.get("item") or {}).get("id"),
                "price": amount,
                "quantity": 1,
            },
            "taxRate": rate,
            "description": f"Reversal: {line.get('description') or ''}"[:1000],
        }
        if line.get("taxIsModified"):
            new |= {"taxAmount": Decimal(str(line.get("taxAmount"))), "taxIsModified": True}
        out.append(new)
    return out


# ---- credit notes ----------------------------------------------------------------------------
def _credit(
    env: SyncEnv,
    invoice: Invoice,
    invoice_rec: SyncRecord,
    purpose: str,
    lines: list[dict[str, Any]],
    link: bool,
) -> str | None:
    """Create (Draft), approve and, for a write-off or reversal, apply a credit note; each step
    is found again after a crash (by reference, then the note's own links)."""
    if not lines:
        return None
    total = sum((_note_total(ln) for ln in lines), ZERO)
    when = _credit_date(env, invoice, purpose)
    reference = REFERENCES[purpose].format(number=invoice.number)
    rec = env.record(EntityKind.CREDIT_NOTE, f"{invoice.id}:{purpose}", reference=reference)
    rec.label = f"Credit note for invoice #{invoice.number} ({purpose})"
    rec.details = {
        **(rec.details or {}),
        "purpose": purpose,
        "invoice": invoice.id,
        "patient_id": invoice.patient_id,
        "amount": str(total),
        "date": str(when),
        "lines": json.loads(json.dumps(lines, default=str)),  # as text, for the JSON column
    }
    body = {"customer": invoice_rec.details.get("customer"), "date": when, "lines": lines}
    if invoice_rec.details.get("customer") is None:
        raise DomainError("The invoice's customer is not known yet.")
    book, customer = env.book_id, str(invoice_rec.details["customer"])

    def settle(note_id: str, fresh: bool = False) -> None:
        """Approve and apply the note; one just created is a Draft applied to nothing [SPEC:
        only PATCH sets a credit note's status], so it is not read back first."""
        if fresh:
            draft, applied = True, False
        else:
            note = env.reckon.get_credit_note(book, note_id)
            draft = note.status == "Draft"
            applied = bool(invoice_rec.reckon_id and note.applied_to(invoice_rec.reckon_id))
        if draft:
            env.reckon.update_credit_note(book, note_id, status="Approved")
        if link and invoice_rec.reckon_id and not applied:
            target = env.reckon.get_invoice(book, invoice_rec.reckon_id)
            amount = min(total, target.balance)
            if amount > 0:
                env.reckon.link_credit_note(book, note_id, invoice_rec.reckon_id, amount)

    def create() -> str:
        note_id = env.reckon.create_credit_note(
            book, customer, when, lines, reference=reference, notes=rec.label
        )
        settle(note_id, fresh=True)
        return note_id

    push = Push(
        body,
        find=lambda: id_of(env.reckon.find_credit_note_by_reference(book, reference)),
        create=create,
        update=settle,
    )
    if env.dry and not rec.reckon_id:
        env.plan.add_lines(when, [(ln["taxRate"], _note_total(ln)) for ln in lines], sign=-1)
    return env.push(
        rec, push, {CREDIT: "credit", WRITE_OFF: "write off", REVERSAL: "reverse"}[purpose]
    )


def _note_total(line: dict[str, Any]) -> Decimal:
    details = line.get("itemDetails") or line.get("accountDetails") or {}
    return Decimal(str(details.get("price", details.get("amount", 0))))


def _credit_date(env: SyncEnv, invoice: Invoice, purpose: str) -> date:
    """The day it happened in Cliniko, in the business's zone: archived, else closed."""
    moment = invoice.archived_at or invoice.deleted_at if purpose == REVERSAL else invoice.closed_at
    return (
        env.local_date(moment, invoice.business_id)
        or invoice.issue_date
        or utcnow().astimezone(env.zone(invoice.business_id)).date()
    )


def _invoice_push(env: SyncEnv, body: dict[str, Any]) -> Push:
    book, reference = env.book_id, body["reference"]
    sent = {k: v for k, v in body.items() if not k.startswith("_")}
    terms = body["payment_terms"]

    def create() -> str:
        new_id = env.reckon.create_invoice(
            book,
            body["customer"],
            body["invoice_date"],
            body["_lines"],
            reference=reference,
            payment_terms=terms,
        )
        env.approval.approve_created(new_id)
        return new_id

    def update(reckon_id: str) -> None:
        fields = {"paymentTerms": terms} if terms else {}
        env.reckon.update_invoice(
            book,
            reckon_id,
            customer=body["customer"],
            invoiceDate=body["invoice_date"],
            amountTaxStatus="Inclusive",
            reference=reference,
            lineItems=body["lines"],
            status="Approved",
            **fields,
        )

    return Push(
        sent,
        find=lambda: id_of(env.reckon.find_invoice_by_reference(book, reference)),
        create=create,
        update=update,
    )
