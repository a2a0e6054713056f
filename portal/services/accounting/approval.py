"""An invoice the API creates is left Approved: with one call where the book has no approval
process, with a second (PATCH status) where it has one.

Reckon's help calls the approval process a book setting ("By enabling the Approval process, you
will be able to manage the Invoice status from Draft to Approved"); the API shows it as
`approvalEnabled` in the book's invoice settings. InvoiceInput has no status, so a create
follows the setting. That a create without the approval process comes back Approved is our
reading, not a documented promise: the first invoice a run creates that way is read back, and
if it is a Draft after all it is approved, and so is every later invoice of the run, with a
second call each. Whatever Reckon does, no invoice is left a Draft.
"""

from __future__ import annotations

import logging

from portal.clients.errors import AuthError, NotFound, ValidationError
from portal.clients.reckon import ReckonClient

log = logging.getLogger(__name__)


class InvoiceApproval:
    """One run's knowledge of how the book treats a new invoice. It is learnt on the run's
    thread (creates go one at a time until `settled`); once settled it never changes, so
    writer threads may create invoices."""

    def __init__(self, reckon: ReckonClient, book_id: str) -> None:
        self._reckon, self._book = reckon, book_id
        self._needed: bool | None = None  # the book's approval process; read at the first create
        self._checked = False  # an invoice created without approving it was read back

    @property
    def settled(self) -> bool:
        """Nothing left to learn: any thread may create an invoice now."""
        return self._needed is True or self._checked

    def approve_created(self, invoice_id: str) -> None:
        """After a create: the new invoice is Approved when this returns."""
        if self._needed is None:
            self._needed = self._approval_process()
        if self._needed:
            self._approve(invoice_id)
            return
        if self._checked:
            return
        if self._reckon.get_invoice(self._book, invoice_id).status == "Draft":
            log.warning(
                "Reckon book %s: an invoice created without the approval process is a Draft; "
                "approving each new invoice with a second call for the rest of the run",
                self._book,
            )
            self._approve(invoice_id)
            self._needed = True
        self._checked = True

    def _approval_process(self) -> bool:
        try:
            return self._reckon.invoices_need_approval(self._book)
        except (AuthError, NotFound, ValidationError):  # not offered to us: approve, as before
            return True

    def _approve(self, invoice_id: str) -> None:
        self._reckon.update_invoice(self._book, invoice_id, status="Approved")
