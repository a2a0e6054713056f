"""Deep links from a variance to the invoice in Cliniko's and in Reckon's web apps."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.clients.cliniko_links import invoice_web_url, patient_web_url
from portal.models import Clinic, Provider
from portal.services.connections.records import connection_or_none

# Cliniko's web URL shapes live with its client (ASSUMED_INVOICE_WEB_URL in clients/cliniko.py).
# ASSUMED: Reckon One's app is documented as app.reckonone.com/{BookID}/Core; the rest is a guess.
ASSUMED_RECKON_INVOICE_WEB_URL = "https://app.reckonone.com/{book_id}/Core/Invoices/{invoice_id}"
_RECKON_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # GUIDs in the OpenAPI copy


@dataclass(frozen=True)
class InvoiceLinks:
    subdomain: str
    shard: str
    book_id: str

    def cliniko(self, invoice_id: str | None) -> str:
        if not (invoice_id and self.subdomain):
            return ""
        return invoice_web_url(self.subdomain, self.shard, invoice_id)

    def patient(self, patient_id: str | None) -> str:
        if not (patient_id and self.subdomain):
            return ""
        return patient_web_url(self.subdomain, self.shard, patient_id)

    def for_line(self, reference: str, cliniko_id: str | None) -> str:
        """A variance's Cliniko link: the patient for a customer, else the invoice."""
        if reference.startswith("Customer"):
            return self.patient(cliniko_id)
        return self.cliniko(cliniko_id)

    def reckon(self, invoice_id: str | None) -> str:
        if not (invoice_id and self.book_id):
            return ""
        if not (_RECKON_ID.fullmatch(self.book_id) and _RECKON_ID.fullmatch(invoice_id)):
            return ""  # upstream values in a link: only ids of the shape Reckon uses
        return ASSUMED_RECKON_INVOICE_WEB_URL.format(book_id=self.book_id, invoice_id=invoice_id)


def invoice_links(clinic: Clinic) -> InvoiceLinks:
    cliniko = connection_or_none(clinic, Provider.CLINIKO)
    reckon = connection_or_none(clinic, Provider.RECKON)
    return InvoiceLinks(
        cliniko.detail("subdomain", "") if cliniko else "",
        cliniko.detail("shard", "") if cliniko else "",
        reckon.detail("book_id", "") if reckon else "",
    )
