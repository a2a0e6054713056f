"""Voucher purchased → Cliniko ready: a patient, a billable item for the code, a note with a link.

Every step first looks for what an earlier (perhaps crashed) attempt already made, so running it
again creates nothing twice: the patient is found by email, the billable item by its code, and
the note by its text.
"""

from __future__ import annotations

from decimal import Decimal

from portal.clients.cliniko import ClinikoClient
from portal.clients.cliniko_models import Patient
from portal.clients.vaocherapp import voucher_url
from portal.extensions import db
from portal.models import Clinic, Provider, Voucher, VoucherEventKind
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.connections.cliniko import cliniko_client
from portal.services.connections.records import linked_connection
from portal.services.vouchers.records import record_voucher_event

BILLABLE_ITEM_TYPE = "Other"


def billable_item_name(code: str) -> str:
    return f"Gift voucher {code}"


def voucher_note(code: str) -> str:
    return f"Gift voucher {code}: {voucher_url(code)}"


def _split_name(full_name: str, email: str) -> tuple[str, str]:
    parts = full_name.split()
    if len(parts) >= 2:
        return " ".join(parts[:-1]), parts[-1]
    if parts:
        return parts[0], "(gift voucher)"
    return email.split("@", 1)[0], "(gift voucher)"


def _patient_for(client: ClinikoClient, voucher: Voucher) -> Patient:
    """The person who will be treated: the recipient when known, else the purchaser."""
    email = (voucher.recipient_email or voucher.purchaser_email).strip()
    name = voucher.recipient_name if voucher.recipient_email else voucher.purchaser_name
    if voucher.cliniko_patient_id:
        return client.get_patient(voucher.cliniko_patient_id)
    if not email:
        raise DomainError("The voucher has no purchaser or recipient email to find a patient by.")
    live = [p for p in client.find_patients_by_email(email) if p.archived_at is None]
    if live:
        return live[0]
    first, last = _split_name(name, email)
    return client.create_patient(first, last, email)


def _billable_item_id(client: ClinikoClient, voucher: Voucher) -> str:
    existing = client.find_billable_item_by_code(voucher.code, include_archived=True)
    if existing is not None:
        return existing.id
    price = -Decimal(voucher.value_cents) / 100
    item = client.create_billable_item(
        billable_item_name(voucher.code), voucher.code, BILLABLE_ITEM_TYPE, price
    )
    return item.id


def _add_note(client: ClinikoClient, patient: Patient, code: str) -> None:
    """Append the voucher's link to the patient's notes, keeping what is there."""
    note = voucher_note(code)
    notes = patient.notes or ""
    if note in notes:
        return
    client.update_patient(patient.id, notes=f"{notes.rstrip()}\n{note}".strip())


def provision_voucher(clinic: Clinic, voucher: Voucher, run_id: int | None = None) -> str:
    """Make the voucher usable in Cliniko; returns a sentence saying what was done."""
    client = cliniko_client(linked_connection(clinic, Provider.CLINIKO))
    try:
        patient = _patient_for(client, voucher)
        item_id = _billable_item_id(client, voucher)
        _add_note(client, patient, voucher.code)
    finally:
        client.close()
    voucher.cliniko_patient_id, voucher.cliniko_billable_item_id = patient.id, item_id
    voucher.patient_name, voucher.patient_email = patient.full_name, patient.email or ""
    voucher.provisioned_at = utcnow()
    voucher.refresh_search_text()
    message = f"Patient {patient.full_name} (#{patient.id}), billable item #{item_id}"
    record_voucher_event(
        voucher,
        VoucherEventKind.PROVISIONED,
        run_id=run_id,
        message=message,
        detail={"patient_id": patient.id, "billable_item_id": item_id},
    )
    db.session.flush()
    return message
