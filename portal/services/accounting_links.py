"""Deep links from a variance to the invoice in Cliniko's and in Reckon's web apps."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import Clinic, Provider

from .connections import connection_or_none

# ---- ASSUMED URL shapes: no public document confirms these; correct them here only. ----------
# Cliniko's web app: the patient URL shape (see portal/clients/cliniko.py) with /invoices/<id>.
ASSUMED_CLINIKO_INVOICE_WEB_URL = "https://{subdomain}.{shard}.cliniko.com/invoices/{invoice_id}"
# Reckon One's app is documented as app.reckonone.com/{BookID}/Core; the invoice path is a guess.
ASSUMED_RECKON_INVOICE_WEB_URL = "https://app.reckonone.com/{book_id}/Core/Invoices/{invoice_id}"


@dataclass(frozen=True)
class InvoiceLinks:
    subdomain: str
    shard: str
    book_id: str

    def cliniko(self, invoice_id: str | None) -> str:
        if not (invoice_id and self.subdomain):
            return ""
        return ASSUMED_CLINIKO_INVOICE_WEB_URL.format(
            subdomain=self.subdomain, shard=self.shard, invoice_id=invoice_id
        )

    def reckon(self, invoice_id: str | None) -> str:
        if not (invoice_id and self.book_id):
            return ""
        return ASSUMED_RECKON_INVOICE_WEB_URL.format(book_id=self.book_id, invoice_id=invoice_id)


def invoice_links(clinic: Clinic) -> InvoiceLinks:
    cliniko = connection_or_none(clinic, Provider.CLINIKO)
    reckon = connection_or_none(clinic, Provider.RECKON)
    return InvoiceLinks(
        cliniko.detail("subdomain", "") if cliniko else "",
        cliniko.detail("shard", "") if cliniko else "",
        reckon.detail("book_id", "") if reckon else "",
    )
