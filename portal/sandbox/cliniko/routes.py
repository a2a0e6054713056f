"""URL rules of the Cliniko emulator; unsupported methods are 404 as in Rails routing."""

from __future__ import annotations

from flask import Response, jsonify, request

from . import assumptions as guess
from .api import (  # the blueprint and its helpers; this module adds the URL rules
    ARCHIVE,
    CREATE,
    NESTED,
    UNARCHIVE,
    UPDATE,
    _account,
    _base,
    _create,
    _delete,
    _set_archived,
    _update,
    _world,
    bp,
    list_response,
    not_found,
)
from .query import Filter
from .store import RESOURCES, render

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _unrouted() -> Response:
    response = not_found()
    response.status_code = guess.CLINIKO_UNROUTED_STATUS
    return response


@bp.route("/user", methods=ALL)
def current_user() -> Response:
    """The key's own user (§4 User)."""
    if request.method != "GET":
        return _unrouted()
    row = _account().table("users").get(_account().user_id)
    return jsonify(render("users", row, _base())) if row else not_found()


@bp.route("/settings", methods=["GET"])
def settings() -> Response:
    """Account settings: account.{id,name,country,time_zone,currency_symbol,subdomain} (§4)."""
    account = _account()
    clinic = account.clinic
    return jsonify(
        {
            "account": {
                "id": account.account_id,
                "name": clinic.name,
                "country": "Australia",
                "time_zone": "Sydney",
                "time_zone_identifier": clinic.time_zone,
                "currency_symbol": "$",
                "currency_code": "AUD",
                "subdomain": clinic.subdomain,
            },
            "links": {"self": f"{_base()}/settings"},
        }
    )


@bp.route("/<plural>", methods=ALL)
def collection(plural: str) -> Response:
    """List (every resource) or create (patients, billable items, products)."""
    if plural not in RESOURCES:
        return not_found()
    if request.method == "GET":
        return list_response(plural)
    if request.method == "POST" and plural in CREATE:
        return _create(plural)
    return _unrouted()


@bp.route("/<plural>/<rid>", methods=ALL)
def member(plural: str, rid: str) -> Response:
    """Show, update (PATCH, or PUT as the old docs had it) or the deprecated DELETE."""
    if plural not in RESOURCES:
        return not_found()
    with _world().lock:
        row = _account().table(plural).get(rid)
    if row is None or (row.get("archived_at") and not guess.CLINIKO_GET_ARCHIVED_BY_ID):
        return not_found()
    if request.method == "GET":
        return jsonify(render(plural, row, _base()))
    if request.method in ("PATCH", "PUT") and plural in UPDATE:
        return _update(plural, row)
    if request.method == "DELETE":
        return _delete(plural, row)
    return _unrouted()


@bp.route("/<plural>/<rid>/<action>", methods=ALL)
def member_action(plural: str, rid: str, action: str) -> Response:
    """archive (204) / unarchive (200), and the deprecated nested lists."""
    if plural not in RESOURCES:
        return not_found()
    with _world().lock:
        row = _account().table(plural).get(rid)
    if row is None:
        return not_found()
    if request.method == "GET" and (plural, action) in NESTED:
        return list_response(action, Filter(NESTED[(plural, action)], "=", rid))
    if request.method == "POST" and action == "archive" and plural in ARCHIVE:
        _set_archived(plural, row, True)
        return Response(status=204)
    if request.method == "POST" and action == "unarchive" and plural in UNARCHIVE:
        _set_archived(plural, row, False)
        return jsonify(render(plural, row, _base()))
    return _unrouted()
