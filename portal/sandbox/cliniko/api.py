"""The Cliniko API emulator under /cliniko/<shard>/v1 (cliniko.md §1-§4)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..core import json_error
from . import assumptions as guess
from .invoices import LiveSink
from .query import Filter, QueryError, page_params, parse_filters, select, sort_rows
from .store import RESOURCES, ClinikoAccount, render
from .write import blank_row, clean

bp = Blueprint("cliniko", __name__, url_prefix="/cliniko/<shard>/v1")

SHARD = re.compile(r"^[a-z]{2}\d{1,2}$")
USER_AGENT = re.compile(r"\S.*\(\s*[^@\s()]+@[^@\s()]+\.[^@\s()]+\s*\)")
CREATE = {"patients", "billable_items", "products"}
UPDATE = {"patients", "billable_items", "products", "taxes"}
ARCHIVE = {"patients", "billable_items", "products", "businesses"}
UNARCHIVE = {"patients", "businesses"}
# Deprecated nested lists the current docs still answer: parent plural -> (child plural, key).
NESTED = {
    ("invoices", "invoice_items"): "invoice_id",
    ("patients", "invoices"): "patient_id",
    ("practitioners", "invoices"): "practitioner_id",
}


def key_shard(api_key: str) -> tuple[str, str]:
    """Split a key into (key, shard): the suffix after the last hyphen, else au1 (§1)."""
    head, _, tail = api_key.rpartition("-")
    return (api_key, tail) if head and SHARD.match(tail) else (api_key, "au1")


def _world() -> Any:
    return current_app.extensions["sandbox"]


def _account() -> ClinikoAccount:
    return g.cliniko_account


def _base() -> str:
    return f"{request.host_url.rstrip('/')}/cliniko/{g.cliniko_shard}/v1"


def not_found() -> Response:
    return json_error(404, guess.CLINIKO_NOT_FOUND)


@bp.url_value_preprocessor
def _pull_shard(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.cliniko_shard = (values or {}).pop("shard", "")


@bp.before_request
def _authenticate() -> Response | None:
    """Bare 401 for a bad key or one from another shard (ISS#317); then the required headers."""
    auth = request.authorization
    username = auth.username if auth and auth.type == "basic" else None
    account = _world().cliniko_by_key.get(username or "")
    if account is None or key_shard(username or "")[1] != g.cliniko_shard != "":
        account = None
    if account is None or account.shard != g.cliniko_shard or account.revoked:
        return Response(
            guess.CLINIKO_UNAUTHORIZED_TEXT, 401, {"WWW-Authenticate": 'Basic realm="Application"'}
        )
    if not USER_AGENT.search(request.headers.get("User-Agent", "")):
        return json_error(*guess.CLINIKO_MISSING_USER_AGENT)
    if "application/json" not in request.headers.get("Accept", ""):
        return json_error(*guess.CLINIKO_NOT_ACCEPTABLE)
    g.cliniko_account = account
    return None


@bp.errorhandler(QueryError)
def _bad_query(exc: QueryError) -> Response:
    return json_error(400, {"message": str(exc)})


def _links(page: int, per_page: int, total: int) -> dict[str, str]:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page")]

    def url(n: int) -> str:
        return f"{_base()}{request.path.split('/v1', 1)[1]}?" + urlencode(
            [*kept, ("page", n), ("per_page", per_page)]
        )

    links = {"self": url(page)}
    if page * per_page < total:
        links["next"] = url(page + 1)
    if page > 1:
        links["previous"] = url(page - 1)
    return links


def list_response(plural: str, scope: Filter | None = None) -> Response:
    """The list envelope: {<plural>: [...], total_entries, links} (§2)."""
    spec = RESOURCES[plural]
    filters = parse_filters(request.args.getlist("q[]") + request.args.getlist("q"), spec.filters)
    page, per_page = page_params(request.args)
    with _world().lock:
        rows = select(
            _account().table(plural), [*filters, *([scope] if scope else [])], spec.filters
        )
        rows = sort_rows(rows, request.args.get("sort"), request.args.get("order"), spec.filters)
        chunk = rows[(page - 1) * per_page : page * per_page]
        items = [render(plural, row, _base()) for row in chunk]
    return jsonify(
        {plural: items, "total_entries": len(rows), "links": _links(page, per_page, len(rows))}
    )


def _body() -> dict[str, Any]:
    """The JSON body, or nothing when Content-Type is not JSON: Cliniko then sees blanks (§1)."""
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _invalid(errors: dict[str, str]) -> Response:
    return json_error(422, {"message": "Validation Failed", "errors": errors})


def _create(plural: str) -> Response:
    account = _account()
    world = _world()
    with world.lock:
        changes, errors = clean(account, plural, _body(), creating=True)
        if errors:
            return _invalid(errors)
        now = world.clock.now()
        row = {"id": None, **blank_row(plural), **changes, "created_at": now, "updated_at": now}
        if plural == "patients":
            row["label"] = f"{row['first_name']} {row['last_name']}"
        LiveSink(account).add(plural, row)
        body = render(plural, row, _base())
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = body["links"]["self"]
    return response


def _update(plural: str, row: dict[str, Any]) -> Response:
    world = _world()
    with world.lock:
        changes, errors = clean(_account(), plural, _body(), creating=False, current=row)
        if errors:
            return _invalid(errors)
        changed = {k: v for k, v in changes.items() if row.get(k) != v}
        if changed:
            changed["updated_at"] = world.clock.now()
            _account().table(plural).update(row, changed)
            if plural == "patients":
                row["label"] = f"{row['first_name']} {row['last_name']}"
        return jsonify(render(plural, row, _base()))


def _set_archived(plural: str, row: dict[str, Any], archived: bool) -> None:
    world = _world()
    with world.lock:
        if (row["archived_at"] is not None) != archived:
            now = world.clock.now()
            _account().table(plural).update(
                row, {"archived_at": now if archived else None, "updated_at": now}
            )


def _delete(plural: str, row: dict[str, Any]) -> Response:
    if plural == "taxes":
        with _world().lock:
            _account().table(plural).delete(row)
    elif plural in ARCHIVE:  # deprecated DELETE archives, like the docs' "Archive patient"
        _set_archived(plural, row, True)
    else:
        return not_found()
    return Response(status=204)
