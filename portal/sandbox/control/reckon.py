"""Test-only control routes under /_sandbox/reckon: tokens without a browser, knobs, mismatches."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, request

from ..reckon.http import json_response, locked, reckon
from ..reckon.invoices import build_invoice, invoice_saved
from ..reckon.parties import build_customer
from ..reckon.store import Book

bp = Blueprint("reckon_control", __name__, url_prefix="/_sandbox/reckon")

SETTINGS = ("access_token_ttl", "refresh_token_ttl", "refresh_token_absolute_ttl", "code_ttl")
MUTABLE = ("customers", "items", "invoices", "receipts", "creditnotes")


def _body() -> dict[str, Any]:
    body = json.loads(request.get_data(as_text=True) or "{}", parse_float=Decimal)
    return body if isinstance(body, dict) else {}


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


@bp.get("/state")
@locked
def state() -> Response:
    """App credentials, books and logins, so a test or the portal's demo config can wire itself."""
    world = reckon()
    return json_response(
        {
            "app_credentials": world.app_credentials,
            "books": [{"id": b.id, "name": b.name} for b in world.books.values()],
            "users": [
                {"id": u.id, "username": u.username, "book_ids": list(u.book_ids)}
                for u in world.users
            ],
        }
    )


@bp.post("/token")
@locked
def token() -> Response:
    """`{"book_id"}` -> `{"access_token", "expires_in", "token_type"}` for that book's user."""
    world = reckon()
    try:
        access = world.issue_token_for_book(str(_body().get("book_id", "")).lower())
    except KeyError:
        return _error(404, "unknown book_id")
    return json_response(
        {"access_token": access, "expires_in": world.access_token_ttl, "token_type": "Bearer"}
    )


@bp.route("/settings", methods=["GET", "POST"])
@locked
def settings() -> Response:
    """Read or change token lifetimes (seconds) and the allowed redirect hosts."""
    current = reckon().tokens.settings
    body = _body() if request.method == "POST" else {}
    for key in SETTINGS:
        if key in body:
            setattr(current, key, int(body[key]))
    if isinstance(body.get("redirect_hosts"), list):
        current.redirect_hosts = [str(h) for h in body["redirect_hosts"]]
    return json_response(asdict(current))


@bp.post("/revoke")
@locked
def revoke() -> Response:
    """`{"refresh_token"?, "access_token"?}` -> `{"revoked": n}`; `{}` revokes everything."""
    body = _body()
    count = reckon().tokens.revoke(body.get("refresh_token", ""), body.get("access_token", ""))
    return json_response({"revoked": count})


def _book(book_id: str) -> Book | None:
    return reckon().books.get(book_id.lower())


@bp.post("/books/<book_id>/<collection>/<record_id>/mutate")
@locked
def mutate(book_id: str, collection: str, record_id: str) -> Response:
    """Overwrite stored fields with no validation or recalculation: a record edited in Reckon."""
    book = _book(book_id)
    coll = book.collection(collection) if book and collection in MUTABLE else None
    record = coll.get(record_id.lower()) if coll else None
    if coll is None or record is None:
        return _error(404, "unknown book, collection or record")
    record = {**record, **_body()}
    coll.put(record)
    return json_response({k: v for k, v in record.items() if not k.startswith("_")})


@bp.delete("/books/<book_id>/<collection>/<record_id>")
@locked
def delete(book_id: str, collection: str, record_id: str) -> Response:
    """Remove a record with no checks (someone deleted it in Reckon)."""
    book = _book(book_id)
    coll = book.collection(collection) if book and collection in MUTABLE else None
    if coll is None or coll.remove(record_id.lower()) is None:
        return _error(404, "unknown book, collection or record")
    return Response(status=204)


@bp.post("/books/<book_id>/generate")
@locked
def generate(book_id: str) -> Response:
    """`{"invoices": n, "approved": true}` -> n one-line invoices (volume tests)."""
    book = _book(book_id)
    if book is None:
        return _error(404, "unknown book")
    body = _body()
    customer = book.customers.resolve("Volume Customer") or _volume_customer(book)
    status = "Approved" if body.get("approved", True) else "Draft"
    first = book.counters["invoice"] + 1
    for n in range(first, first + int(body.get("invoices", 0))):
        record = build_invoice(book, _volume_invoice(customer["id"], n), None)
        record["status"] = status
        book.invoices.put(record)
    invoice_saved(book, None, {"customer": {"id": customer["id"]}})
    return json_response({"invoices": len(book.invoices)})


def _volume_customer(book: Book) -> dict[str, Any]:
    record = build_customer(book, {"name": "Volume Customer"}, None)
    return book.customers.put(record)


def _volume_invoice(customer_id: str, n: int) -> dict[str, Any]:
    line = {"lineNumber": 1, "accountDetails": {"ledgerAccount": "Income", "amount": 110}}
    return {
        "customer": customer_id,
        "invoiceDate": f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T00:00:00Z",
        "amountTaxStatus": "Inclusive",
        "reference": f"VOLUME-{n}",
        "lineItems": [{**line, "taxRate": "GST"}],
    }
