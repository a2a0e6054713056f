"""Staff and shop actions in VaocherApp that the API does not offer: sell, redeem by hand, void,
and the webhook settings page (vaocherapp.md §6-§7)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..core import parse_iso
from ..vaocherapp.ops import Outcome, Sale, redeem, sell, void
from ..vaocherapp.store import VaocherAccount
from .plane import bad, body, world

bp = Blueprint("control_vaocherapp", __name__, url_prefix="/_sandbox/vaocherapp")


def _account(data: dict[str, Any]) -> VaocherAccount | None:
    return world().vaocherapp_by_key.get(str(data.get("api_key", "")))


def _reply(outcome: Outcome) -> Response:
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    return response


def _sale(data: dict[str, Any]) -> Sale:
    expiry = data.get("expiry")
    return Sale(
        value=int(data["value"]),
        purchaser_name=str(data["purchaser_name"]),
        purchaser_email=str(data["purchaser_email"]),
        recipient_name=data.get("recipient_name"),
        recipient_email=data.get("recipient_email"),
        message=data.get("message"),
        expiry=parse_iso(expiry) if isinstance(expiry, str) and expiry != "never" else None,
        never_expires=expiry == "never" or ("expiry" in data and expiry is None),
        code=data.get("code"),
    )


@bp.post("/purchase")
def purchase() -> Response:
    """A customer buys a voucher: {"api_key", "value" (cents), "purchaser_name", "purchaser_email",
    optional recipient_name/recipient_email/message, "expiry" (ISO, null/"never"), "code",
    "test_mode"}. Fires voucher.created; 201 with the voucher."""
    data = body()
    account = _account(data)
    if account is None:
        return bad("unknown api_key", 404)
    try:
        sale = _sale(data)
    except (KeyError, TypeError, ValueError):
        return bad("value (int cents), purchaser_name and purchaser_email are required")
    if sale.value < 1:
        return bad("value must be a positive number of cents")
    test_mode = bool(data.get("test_mode"))
    return _reply(sell(world(), account, account.book(test_mode), sale, live=not test_mode))


@bp.post("/redeem")
def redeem_by_hand() -> Response:
    """Staff redeem in the dashboard: {"api_key", "code", "amount", "reason"}; API rules apply."""
    data = body()
    account = _account(data)
    if account is None:
        return bad("unknown api_key", 404)
    test_mode = bool(data.get("test_mode"))
    outcome = redeem(
        world(),
        account,
        account.book(test_mode),
        str(data.get("code", "")),
        data,
        live=not test_mode,
    )
    return _reply(outcome)


@bp.post("/void")
def void_voucher() -> Response:
    """Staff void a voucher: {"api_key", "code"}; fires voucher.updated."""
    data = body()
    account = _account(data)
    if account is None:
        return bad("unknown api_key", 404)
    book = account.book(bool(data.get("test_mode")))
    return _reply(void(world(), account, book, str(data.get("code", ""))))


@bp.route("/webhooks", methods=["GET", "POST", "DELETE"])
def webhooks() -> Response:
    """Register {"api_key","url","secret"} (POST), list (GET) or clear (DELETE), by ?api_key=."""
    data = body() if request.method == "POST" else dict(request.args)
    accounts = [c.vaocherapp for c in world().clinics]
    if data.get("api_key"):
        account = _account(data)
        if account is None:
            return bad("unknown api_key", 404)
        accounts = [account]
    if request.method == "POST":
        if not data.get("url"):
            return bad("url is required")
        secret = str(data.get("secret") or accounts[0].webhook_secret)
        accounts[0].webhooks.append({"url": str(data["url"]), "secret": secret})
        return _webhook_list(accounts, 201)
    if request.method == "DELETE":
        for account in accounts:
            account.webhooks.clear()
        return Response(status=204)
    return _webhook_list(accounts, 200)


def _webhook_list(accounts: list[VaocherAccount], status: int) -> Response:
    hooks = [
        {"account_id": a.id, "url": h["url"], "secret": h["secret"]}
        for a in accounts
        for h in a.webhooks
    ]
    response = jsonify({"webhooks": hooks})
    response.status_code = status
    return response


@bp.get("/webhook-deliveries")
def deliveries() -> Response:
    """Webhooks sent since reset, with status and outcome (pending/delivered/rejected/failed)."""
    account = _account(dict(request.args)) if request.args.get("api_key") else None
    with world().deliveries_lock:
        records = [
            dict(r)
            for r in world().webhook_deliveries
            if account is None or r["account_id"] == account.id
        ]
    return jsonify({"deliveries": records})
