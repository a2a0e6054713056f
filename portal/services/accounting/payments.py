"""Paid Cliniko invoices → settled in Reckon: the patient's customer credit first, then a receipt
into the clearing account for the rest.

Cliniko's API shows no payments, only that an invoice is paid (status 20, `closed_at`). Account
credit left by an open-credit invoice is assumed to be applied by Cliniko to the patient's next
invoices as they are paid (ASSUMED_CREDIT_APPLIED_FIRST: Cliniko's "automatic payment
allocations"), oldest credit first. A receipt is then only the fallback for what no known credit
covers (a card or cash payment, or credit whose origin the portal never saw).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial

from portal.clients.reckon_models import Allocation
from portal.models import EntityKind, SyncRecord, SyncState
from portal.services import DomainError
from portal.services.accounting import map as m
from portal.services.accounting.invoices import CREDIT
from portal.services.accounting.push import Later, Push, Unchanged
from portal.services.accounting.sync import SyncEnv, id_of, steps

ZERO = Decimal(0)
ASSUMED_CREDIT_APPLIED_FIRST = True


def _credits(env: SyncEnv, patient_id: str, paid_on: date) -> list[tuple[SyncRecord, Decimal]]:
    """The patient's customer credit notes in Reckon, oldest first, with what is left of each."""
    used: dict[str, Decimal] = {}
    for link in env.known[EntityKind.CREDIT_LINK].values():
        key = str((link.details or {}).get("note", ""))
        used[key] = used.get(key, ZERO) + Decimal(str((link.details or {}).get("amount", "0")))
    out = []
    for rec in env.known[EntityKind.CREDIT_NOTE].values():
        details = rec.details or {}
        if details.get("purpose") != CREDIT or details.get("patient_id") != patient_id:
            continue
        if not rec.reckon_id or rec.state != SyncState.SYNCED or details["date"] > str(paid_on):
            continue
        left = Decimal(details["amount"]) - used.get(rec.cliniko_id, ZERO)
        if left > 0:
            out.append((rec, left))
    return sorted(out, key=lambda pair: (pair[0].details["date"], pair[0].cliniko_id))


def sync_payment(env: SyncEnv, payment: SyncRecord, invoice: SyncRecord) -> str | Later:
    """A paid Cliniko invoice → credit applied, then a receipt for the rest."""
    if not invoice.reckon_id or invoice.state != SyncState.SYNCED:
        raise DomainError("The invoice is not in Reckon yet.")
    details = invoice.details or {}
    total, paid_on = Decimal(details["total"]), date.fromisoformat(details["paid_on"])
    done = payment.details.get("credited") if payment.details else None
    plan: list[tuple[SyncRecord, Decimal]] = []
    if done is None and payment.reckon_id:  # receipted before credit was known: stays as it is
        payment.details = {**(payment.details or {}), "credited": {}}
    elif done is None:  # decided once, so a later credit never changes a settled payment
        left = total
        for note, available in _credits(env, str(details.get("patient_id")), paid_on):
            if ASSUMED_CREDIT_APPLIED_FIRST and left > 0:
                take = min(available, left)
                plan.append((note, take))
                left -= take
        payment.details = {
            **(payment.details or {}),
            "credited": {note.cliniko_id: str(take) for note, take in plan},
        }
    credited = {k: Decimal(v) for k, v in (payment.details or {})["credited"].items()}
    notes = env.known[EntityKind.CREDIT_NOTE]
    writes: list[Callable[[], str | None]] = [
        partial(_apply_credit, env, invoice, notes[key], amount) for key, amount in credited.items()
    ]
    rest = total - sum(credited.values(), ZERO)
    if not writes:  # the receipt alone: its write may go on ahead
        try:
            done = _receipt(env, payment, invoice, rest, paid_on, later=True)
        except Unchanged:
            done = None
        if not done:  # as `steps` says it
            raise Unchanged("Unchanged since the last sync.")
        return done

    def receipt() -> str | None:
        done = _receipt(env, payment, invoice, rest, paid_on)
        assert not isinstance(done, Later)  # sent now: credit was applied before it
        return done

    return steps(*writes, receipt)


def _apply_credit(env: SyncEnv, invoice: SyncRecord, note: SyncRecord, amount: Decimal) -> str:
    """One transaction link from the credit note to the paid invoice."""
    rec = env.record(EntityKind.CREDIT_LINK, f"{invoice.cliniko_id}:{note.cliniko_id}")
    rec.label = f"Credit applied to {invoice.label}"
    rec.details = {"note": note.cliniko_id, "invoice": invoice.cliniko_id, "amount": str(amount)}
    book, note_id, invoice_id = env.book_id, note.reckon_id or "", invoice.reckon_id or ""

    def find() -> str | None:
        found = env.reckon.get_credit_note(book, note_id)
        return next((lid for lid, inv, _ in found.links if inv == invoice_id), None)

    push = Push(
        {"note": note_id, "invoice": invoice_id, "amount": str(amount)},
        find=find,
        create=lambda: env.reckon.link_credit_note(book, note_id, invoice_id, amount),
    )
    return env.push(rec, push, "apply credit")


def _receipt(
    env: SyncEnv,
    payment: SyncRecord,
    invoice: SyncRecord,
    amount: Decimal,
    paid_on: date,
    later: bool = False,
) -> str | Later | None:
    """A receipt into the clearing account, allocated to the invoice (when anything is left)."""
    details = invoice.details or {}
    reference = m.PAYMENT_REFERENCE.format(number=details["number"])
    body = {"invoice": invoice.reckon_id, "amount": str(amount), "date": str(paid_on)}
    payment.reference = reference
    if amount <= 0:
        if payment.state != SyncState.SYNCED:  # settled from credit alone: nothing to receipt
            payment.state, payment.message, payment.reckon_id = SyncState.SYNCED, "", None
            return "Paid from customer credit."
        raise Unchanged("Paid from customer credit.")
    if payment.reckon_id and payment.pushed_hash and payment.pushed_hash != m.payload_hash(body):
        payment.state = SyncState.NEEDS_ACTION
        payment.message = "The invoice changed in Cliniko after its payment was sent; check it."
        raise m.NeedsAction(payment.message)
    # Read now: the call may run on another thread, which must not touch a database row.
    book, customer, invoice_id = env.book_id, details["customer"], invoice.reckon_id or ""
    account, method = env.settings.clearing_account, env.settings.payment_method
    notes = f"Paid in Cliniko ({invoice.label})"
    push = Push(
        body,
        find=lambda: id_of(env.reckon.find_receipt_by_reference(book, reference)),
        create=lambda: env.reckon.create_receipt(
            book,
            customer,
            paid_on,
            amount,
            reference=reference,
            allocations=[Allocation(invoice_id, amount)],
            ledger_account=account,
            payment_method=method,
            notes=notes,
        ),
    )
    return env.push_later(payment, push) if later else env.push(payment, push)
