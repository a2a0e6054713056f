"""Things clinic staff do in Cliniko's UI that the API cannot: invoice, pay, archive, export CSV,
revoke an API key (and, for tests, restore it)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..cliniko import assumptions as guess
from ..cliniko.invoices import InvoiceFacts, Line, LiveSink, add_invoice
from ..cliniko.store import ClinikoAccount, render
from ..core import to_decimal
from .cliniko_export import export_rows
from .plane import bad, body, world

bp = Blueprint("control_cliniko", __name__, url_prefix="/_sandbox/cliniko")


class ActionError(ValueError):
    """A staff action the UI would refuse."""


def _account(api_key: Any) -> ClinikoAccount:
    account = world().cliniko_by_key.get(str(api_key or ""))
    if account is None:
        raise ActionError("unknown api_key")
    return account


def _base(account: ClinikoAccount) -> str:
    return f"{request.host_url.rstrip('/')}/cliniko/{account.shard}/v1"


def _tax(account: ClinikoAccount, tax_id: Any) -> tuple[str | None, Decimal]:
    tax = account.table("taxes").get(tax_id) if tax_id else None
    return (tax["name"], tax["rate"]) if tax else (None, Decimal(0))


def _line(account: ClinikoAccount, spec: dict[str, Any]) -> Line:
    """A line from {"billable_item_id" | "product_id" | "item_code", "quantity", "discount"}."""
    if spec.get("product_id"):
        row, is_product = account.table("products").get(str(spec["product_id"])), True
    elif spec.get("item_code"):
        found = account.table("billable_items").lookup("item_code", [spec["item_code"]])
        row, is_product = (found[-1] if found else None), False
    else:
        row, is_product = (
            account.table("billable_items").get(str(spec.get("billable_item_id"))),
            False,
        )
    if row is None:
        raise ActionError(f"no such item: {spec}")
    if row.get("archived_at") is not None:
        raise ActionError(f"item {row['id']} is archived and cannot be invoiced")
    tax_name, rate = _tax(account, row.get("tax_id"))
    price = row["price_ex_tax"] if is_product else row["price"]
    return Line(
        row["id"],
        is_product,
        row["name"],
        row.get("item_code"),
        "Product" if is_product else row["item_type"],
        price,
        tax_name,
        rate,
        int(spec.get("quantity", 1)),
        to_decimal(spec.get("discount", 0)) or Decimal(0),
    )


def _facts(account: ClinikoAccount, data: dict[str, Any], now: datetime) -> InvoiceFacts:
    patient = account.table("patients").get(str(data.get("patient_id")))
    if patient is None:
        raise ActionError("patient_id is required and must exist")
    practitioners = list(account.table("practitioners"))
    practitioner = str(data.get("practitioner_id") or practitioners[0]["id"])
    issued = date.fromisoformat(data["issue_date"]) if data.get("issue_date") else now.date()
    return InvoiceFacts(
        next(account.invoice_numbers),
        issued,
        patient["id"],
        practitioner,
        next(iter(account.table("businesses")))["id"],
        now,
        paid=bool(data.get("paid", False)),
    )


@bp.post("/invoices")
def create_invoice() -> Response:
    """Staff raise an invoice: {"api_key", "patient_id", "items": [{"billable_item_id" |
    "product_id" | "item_code", "quantity", "discount"}], "paid", "issue_date"} → 201 invoice."""
    data = body()
    try:
        with world().lock:
            account = _account(data.get("api_key"))
            lines = [_line(account, item) for item in data.get("items") or []]
            if not lines:
                raise ActionError("items must list at least one item")
            invoice_id, _row = add_invoice(
                LiveSink(account), _facts(account, data, world().clock.now()), lines
            )
            invoice = render(
                "invoices", account.table("invoices").get(invoice_id) or {}, _base(account)
            )
    except (ActionError, ValueError, TypeError) as exc:
        return bad(str(exc))
    items = [
        render("invoice_items", r, _base(account))
        for r in account.table("invoice_items").lookup("invoice_id", [invoice_id])
    ]
    response = jsonify({**invoice, "_invoice_items": items})
    response.status_code = 201
    return response


def _change_invoice(invoice_id: str, status: int | None, archive: bool) -> Response:
    data = body()
    try:
        with world().lock:
            account = _account(data.get("api_key"))
            row = account.table("invoices").get(invoice_id)
            if row is None:
                raise ActionError("no such invoice")
            now = world().clock.now()
            changes: dict[str, Any] = {"updated_at": now}
            if status is not None:
                changes.update(
                    status=status,
                    closed_at=now,
                    status_description=guess.CLINIKO_STATUS_DESCRIPTIONS[status],
                )
            if archive:
                changes["archived_at"] = now
                for item in account.table("invoice_items").lookup("invoice_id", [invoice_id]):
                    account.table("invoice_items").update(
                        item, {"archived_at": now, "updated_at": now}
                    )
            account.table("invoices").update(row, changes)
            return jsonify(render("invoices", row, _base(account)))
    except ActionError as exc:
        return bad(str(exc))


@bp.post("/invoices/<invoice_id>/pay")
def pay_invoice(invoice_id: str) -> Response:
    """Mark paid (e.g. from account credit, a $0 payment): status 20 and closed_at. {"api_key"}."""
    return _change_invoice(invoice_id, 20, archive=False)


@bp.post("/invoices/<invoice_id>/write-off")
def write_off_invoice(invoice_id: str) -> Response:
    """Close an invoice unpaid (written off): status 30 and closed_at. {"api_key"}."""
    return _change_invoice(invoice_id, 30, archive=False)


@bp.post("/invoices/<invoice_id>/archive")
def archive_invoice(invoice_id: str) -> Response:
    """Archive an invoice in the UI (its items with it). {"api_key"}."""
    return _change_invoice(invoice_id, None, archive=True)


@bp.get("/exports/invoice-items.csv")
def invoice_items_csv() -> Response:
    """Settings → Data exports → Invoice items, as CSV: ?api_key=..&from=YYYY-MM-DD&to=YYYY-MM-DD.
    The headers are a guess (cliniko.assumptions.CLINIKO_INVOICE_ITEMS_CSV_HEADERS)."""
    try:
        account = _account(request.args.get("api_key"))
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else None
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else None
    except (ActionError, ValueError) as exc:
        return bad(str(exc))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(guess.CLINIKO_INVOICE_ITEMS_CSV_HEADERS)
    with world().lock:
        writer.writerows(export_rows(account, start, end))
    stamp = world().clock.now().strftime("%Y%m%d")
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="InvoiceItems-Cliniko-{stamp}.csv"'},
    )


@bp.post("/revoke")
def revoke_key() -> Response:
    """The key's owner revokes it in Cliniko (My info → API keys): every call is then a 401."""
    return _set_revoked(True)


@bp.post("/restore")
def restore_key() -> Response:
    """Undo a revoke (Cliniko issues a new key instead; the sandbox keeps the old one for tests)."""
    return _set_revoked(False)


def _set_revoked(revoked: bool) -> Response:
    try:
        account = _account(body().get("api_key"))
    except ActionError as error:
        return bad(str(error))
    account.revoked = revoked
    return jsonify({"api_key_tail": account.api_key[-4:], "revoked": revoked})
