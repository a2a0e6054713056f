"""Reckon One v2 basics: heartbeat, books and each book's reference data (tax, accounts)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from flask import Response

from . import assumptions as A
from . import ledger
from .http import (
    ApiError,
    api_blueprint,
    current_grant,
    invalid,
    json_response,
    list_response,
    load,
    load_book,
    locked,
    read_json,
    reckon,
    require_merge_patch,
)
from .store import Book, Collection, Record
from .terms import due_date

bp = api_blueprint("reckon_api")

# URL name -> Book attribute for the read-only reference lists.
REFERENCE_LISTS = {
    "ledgeraccounts": "ledgeraccounts",
    "paymentMethods": "paymentmethods",
    "addresstypes": "addresstypes",
    "phonetypes": "phonetypes",
    "electronicaddresstypes": "electronicaddresstypes",
}


def public(record: Record) -> Record:
    """A stored record without the emulator's private (`_`-prefixed) bookkeeping."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def book_view(book: Book) -> Record:
    """The Book schema [SPEC]; ownership depends on whether the user owns every book."""
    owner = len(current_grant().user.book_ids) == len(reckon().books)
    product_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"reckon-product:{book.id}"))
    return {
        "id": book.id,
        "name": book.name,
        "status": "Active",
        "ownership": "Owned" if owner else "Shared",
        "country": book.country,
        "bookCreated": True,
        "ownedAsPartner": False,
        "hasRoleAssigned": True,
        "isTrial": False,
        "products": [{"id": product_id, **A.BOOK_PRODUCT}],
    }


@bp.get("/heartbeat")
def heartbeat() -> Response:
    """The API's status [SPEC]."""
    return json_response(A.HEARTBEAT)


@bp.get("/books")
@locked
def list_books() -> Response:
    """The books this token's user can reach [DOC HELP gh6xk2el3c]."""
    visible = Collection()
    for book_id in current_grant().user.book_ids:
        visible.put(book_view(reckon().books[book_id]))
    return list_response(visible, lambda r: r)


@bp.get("/books/<book_id>")
@locked
def get_book(book_id: str) -> Response:
    """One book."""
    return json_response(book_view(load_book(book_id)))


@bp.get("/<book_id>/<any(" + ",".join(REFERENCE_LISTS) + "):kind>")
@locked
def list_reference(book_id: str, kind: str) -> Response:
    """Ledger accounts, payment methods and contact-detail types."""
    book = load_book(book_id)
    return list_response(getattr(book, REFERENCE_LISTS[kind]), _renderer(book, kind))


@bp.get("/<book_id>/<any(" + ",".join(REFERENCE_LISTS) + "):kind>/<record_id>")
@locked
def get_reference(book_id: str, kind: str, record_id: str) -> Response:
    """One ledger account, payment method or type."""
    book = load_book(book_id)
    record = load(getattr(book, REFERENCE_LISTS[kind]), record_id)
    return json_response(_renderer(book, kind)(record))


def _renderer(book: Book, kind: str) -> Callable[[Record], Record]:
    """Ledger accounts carry balances computed from the book's documents [INF]."""
    if kind != "ledgeraccounts":
        return public
    computed = ledger.balances(book)
    return lambda r: {**public(r), "balance": computed.get(r["id"], r.get("balance"))}


@bp.get("/<book_id>/terms")
@locked
def list_terms(book_id: str) -> Response:
    """Payment terms [SPEC GetPaymentTerms]."""
    return list_response(load_book(book_id).terms, public)


@bp.get("/<book_id>/terms/<term_id>")
@locked
def get_term(book_id: str, term_id: str) -> Response:
    """One payment term."""
    return json_response(public(load(load_book(book_id).terms, term_id)))


@bp.get("/<book_id>/terms/<term_id>/duedate/basedate/<base_date>")
@locked
def term_due_date(book_id: str, term_id: str, base_date: str) -> Response:
    """The due date a term gives from a base date [SPEC GetPaymentTermDueDate]."""
    term = load(load_book(book_id).terms, term_id)
    return json_response({"dueDate": f"{due_date(term, _effective(base_date))}T00:00:00Z"})


def _effective(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ApiError(
            400, A.INVALID_REQUEST, [{"location": "effectiveDate", "message": "Not a date."}]
        ) from exc


@bp.get("/<book_id>/taxrates/<effective_date>")
@locked
def list_tax_rates(book_id: str, effective_date: str) -> Response:
    """Tax rates in force on a date [SPEC]; AU rates have not changed since 2000."""
    book = load_book(book_id)
    _effective(effective_date)
    return list_response(book.taxrates, public)


@bp.get("/<book_id>/taxrates/<rate_id>/<effective_date>")
@locked
def get_tax_rate(book_id: str, rate_id: str, effective_date: str) -> Response:
    """One tax rate on a date."""
    book = load_book(book_id)
    _effective(effective_date)
    return json_response(public(load(book.taxrates, rate_id)))


@bp.get("/<book_id>/settings/tax")
@locked
def tax_settings(book_id: str) -> Response:
    """The book's tax settings [SPEC]: GST registered, amounts tax-inclusive by default [INF]."""
    load_book(book_id)
    return json_response(
        {
            "taxRegistered": True,
            "reportingBasis": "Cash",
            "amountTaxStatus": "Inclusive",
            "taxAmountEditable": True,
            "chooseAmountTaxStatus": True,
        }
    )


@bp.get("/<book_id>/settings/invoice")
@locked
def invoice_settings(book_id: str) -> Response:
    """The book's invoice settings [SPEC InvoiceSettings]; only the approval process is kept."""
    book = load_book(book_id)
    return json_response(
        {
            "approvalEnabled": book.invoice_approval,
            "prefix": A.INVOICE_NUMBER.partition("{")[0],
            "nextInvoiceNumber": book.counters["invoice"] + 1,
            "serviceDateOnInvoice": False,
        }
    )


@bp.patch("/<book_id>/settings/invoice")
@locked
def patch_invoice_settings(book_id: str) -> Response:
    """Turn the book's approval process on or off [SPEC PatchInvoiceSettings: 204]."""
    book = load_book(book_id)
    require_merge_patch()
    body = read_json()
    enabled = body.get("approvalEnabled", book.invoice_approval)
    if not isinstance(enabled, bool):
        raise invalid("approvalEnabled", "approvalEnabled must be true or false.")
    book.invoice_approval = enabled
    return Response(status=204)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Any other path under the API: the JSON 404 rather than Flask's HTML page."""
    raise ApiError(404, A.NOT_FOUND)
