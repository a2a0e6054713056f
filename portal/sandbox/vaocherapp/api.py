"""The VaocherApp API emulator under /vaocherapp/v1 (vaocherapp.md §2-§6, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..core import json_error, parse_iso
from . import assumptions as guess
from .ops import redeem
from .store import VaocherAccount, VoucherBook, stamp, voucher_json

bp = Blueprint("vaocherapp", __name__, url_prefix="/vaocherapp/v1")


def _world() -> Any:
    return current_app.extensions["sandbox"]


def _reply(status: int, body: dict[str, Any]) -> Response:
    return json_error(status, body) if status >= 400 else _ok(body, status)


def _ok(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@bp.before_request
def _authenticate() -> Response | None:
    """`Authorization: Bearer <key>`; live data unless `x-vaocherapp-test-mode: 1` (§2)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    account = _world().vaocherapp_by_key.get(token.strip()) if scheme.lower() == "bearer" else None
    if account is None:
        return json_error(401, guess.vaocherapp_error(guess.VAOCHERAPP_UNAUTHENTICATED))
    g.vaocher_account = account
    g.vaocher_test = request.headers.get("x-vaocherapp-test-mode", "0").strip() == "1"
    return None


def _account() -> VaocherAccount:
    return g.vaocher_account


def _book() -> VoucherBook:
    return _account().book(g.vaocher_test)


@bp.get("/accounts/my-account")
def my_account() -> Response:
    """{"account": {"id" (uuid), "name", "currency", "onboarding": {...}}} (§4)."""
    account = _account()
    return _ok(
        {
            "account": {
                "id": account.id,
                "name": account.name,
                "currency": account.currency,
                "onboarding": {"is_completed": True},
            }
        }
    )


@bp.get("/vouchers/<path:code>")
def show_voucher(code: str) -> Response:
    """The voucher object at the top level of the body (§4)."""
    with _world().lock:
        voucher = _book().find(code)
        if voucher is None:
            return json_error(404, guess.vaocherapp_error(guess.VAOCHERAPP_NOT_FOUND))
        return _ok(voucher_json(voucher, _world().clock.now()))


@bp.post("/vouchers/<path:code>/redeem")
def redeem_voucher(code: str) -> Response:
    """{"amount": cents, "reason"}: atomic, all or nothing; fires voucher.redeemed."""
    data = request.get_json(silent=True)
    outcome = redeem(
        _world(),
        _account(),
        _book(),
        code,
        data if isinstance(data, dict) else {},
        live=not g.vaocher_test,
    )
    return _reply(outcome.status, outcome.body)


@bp.get("/vouchers/<path:code>/transactions")
def voucher_transactions(code: str) -> Response:
    """[assumed] The voucher's ledger, so a client can check whether a timed-out redeem landed."""
    with _world().lock:
        voucher = _book().find(code)
        if voucher is None:
            return json_error(404, guess.vaocherapp_error(guess.VAOCHERAPP_NOT_FOUND))
        return _ok({"data": [guess.transaction_json(t, stamp) for t in voucher.transactions]})


def _since() -> datetime | None:
    raw = request.args.get("updated_since")
    return parse_iso(raw) if raw else None


@bp.get("/vouchers")
def list_vouchers() -> Response:
    """[assumed] Backfill list: ?page=&per_page=&updated_since=, oldest change first."""
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = int(request.args.get("per_page", guess.VAOCHERAPP_DEFAULT_PER_PAGE))
        since = _since()
    except ValueError:
        message = "The given data was invalid."
        return json_error(422, guess.vaocherapp_error(message, {"query": [message]}))
    per_page = min(max(1, per_page), guess.VAOCHERAPP_MAX_PER_PAGE)
    with _world().lock:
        now = _world().clock.now()
        rows = [v for v in _book().vouchers.values() if since is None or v.updated_at > since]
        rows.sort(key=lambda v: (v.updated_at, v.id))
        chunk = rows[(page - 1) * per_page : page * per_page]
        items = [voucher_json(v, now) for v in chunk]
    path = f"{request.host_url.rstrip('/')}/vaocherapp{guess.VAOCHERAPP_LIST_PATH}"
    extra = f"updated_since={quote(request.args['updated_since'])}&" if since else ""
    return _ok(guess.vaocherapp_page(items, page, per_page, len(rows), path, extra))


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(anything: str) -> Response:
    """Anything else is not part of the API we know of."""
    return json_error(404, guess.vaocherapp_error("Not Found"))
