"""What every Reckon One API view shares: the gateway checks, error bodies, JSON and list paging."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request

from . import assumptions as A
from .query import QueryError, select_records
from .store import Book, Collection, Record

if TYPE_CHECKING:
    from .tokens import Grant
    from .world import ReckonWorld

API_PREFIX = "/reckon/r1/v2"


class ApiError(Exception):
    """An error the API answers with `{message, code[, errors]}`."""

    def __init__(self, code: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.code, self.message, self.errors = code, message, errors

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_response(body, self.code)


def invalid(location: str, message: str) -> ApiError:
    """A 400 naming one offending field."""
    return ApiError(400, A.INVALID_REQUEST, [{"location": location, "message": message}])


def _plain(value: Any) -> Any:
    # Why float: a Decimal with at most 15 significant digits prints back exactly as a JSON number.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise with Decimals as JSON numbers (Flask's provider would send strings)."""
    text = json.dumps(body, default=_plain, separators=(",", ":"))
    return Response(text, status=status, headers=headers, mimetype="application/json")


def no_content() -> Response:
    """204 for PUT, PATCH and DELETE [SPEC]."""
    return Response(status=204)


def reckon() -> ReckonWorld:
    """The Reckon state of the running sandbox."""
    world: ReckonWorld = current_app.extensions["sandbox"].reckon
    return world


def locked(view: Callable[..., Response]) -> Callable[..., Response]:
    """Run a view under the world lock: the sandbox serves threads, state changes must not tear."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        with current_app.extensions["sandbox"].lock:
            return view(*args, **kwargs)

    return wrapper


def read_json() -> dict[str, Any]:
    """The request body as an object, numbers kept exact."""
    try:
        body = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
    except ValueError as exc:
        raise invalid("body", f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object.")
    return body


def require_merge_patch() -> None:
    """PATCH bodies must be JSON merge patches [SPEC: 415 otherwise]."""
    mimetype = request.mimetype or "none"
    if mimetype != "application/merge-patch+json":
        raise ApiError(415, A.UNSUPPORTED_PATCH.format(mimetype))


def _authenticate() -> Response | None:
    """APIM checks the subscription key first, then the API checks the bearer token."""
    world = reckon()
    key = request.headers.get("Ocp-Apim-Subscription-Key") or request.args.get("subscription-key")
    if not key:
        return json_response({"statusCode": 401, "message": A.MISSING_KEY}, 401)
    if key != world.app_credentials["subscription_key"]:
        return json_response({"statusCode": 401, "message": A.INVALID_KEY}, 401)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    grant = world.tokens.check_access(token.strip()) if scheme.lower() == "bearer" else None
    if grant is None:
        return json_response({"message": A.BAD_BEARER, "code": 401}, 401)
    if request.method not in ("GET", "HEAD") and A.WRITE_NEEDS_SCOPE not in grant.scope:
        return ApiError(403, A.FORBIDDEN).response()
    g.reckon_grant = grant
    return None


def api_blueprint(name: str) -> Blueprint:
    """A blueprint under the API prefix with the gateway checks and JSON error bodies wired in."""
    bp = Blueprint(name, __name__, url_prefix=API_PREFIX)
    bp.before_request(_authenticate)
    bp.register_error_handler(ApiError, lambda exc: exc.response())
    return bp


def current_grant() -> Grant:
    """The grant behind this request's bearer token."""
    grant: Grant = g.reckon_grant
    return grant


def load_book(book_id: str) -> Book:
    """The book in the path: 404 when unknown, 403 when this user may not use it."""
    book = reckon().books.get(book_id.lower())
    if book is None:
        raise ApiError(404, A.NOT_FOUND)
    if book.id not in current_grant().user.book_ids:
        raise ApiError(403, A.FORBIDDEN)
    return book


def load(collection: Collection, record_id: str) -> Record:
    """A record by id, or the API's 404."""
    record = collection.get(record_id.lower())
    if record is None:
        raise ApiError(404, A.NOT_FOUND)
    return record


def _paging() -> tuple[int, int]:
    """page and perpage (also spelled perPage) [DOC], validated."""
    raw_size = next(
        (v for k, v in request.args.items() if k.lower() == "perpage"), str(A.DEFAULT_PERPAGE)
    )
    raw_page = next((v for k, v in request.args.items() if k.lower() == "page"), "1")
    try:
        page, size = int(raw_page), int(raw_size)
    except ValueError as exc:
        raise invalid("page", "page and perpage must be whole numbers.") from exc
    if page < 1:
        raise invalid("page", "page must be 1 or more.")
    if not 1 <= size <= A.MAX_PERPAGE:
        raise invalid("perpage", f"perpage must be between 1 and {A.MAX_PERPAGE}.")
    return page, size


def _link_header(page: int, size: int, last: int) -> str:
    """`Link` with first/prev/next/last, keeping the caller's other query parameters."""
    kept = [
        (k, v) for k, v in request.args.items(multi=True) if k.lower() not in ("page", "perpage")
    ]

    def url(number: int) -> str:
        return f"{request.base_url}?{urlencode([*kept, ('page', number), ('perPage', size)])}"

    rels = [("first", 1), ("prev", page - 1), ("next", page + 1), ("last", last)]
    return ", ".join(f'<{url(n)}>; rel="{rel}"' for rel, n in rels if 1 <= n <= last)


def list_response(collection: Collection, render: Callable[[Record], Any]) -> Response:
    """`{"list": [...]}` after filter, orderby and paging, with Link and X-Total-Count [DOC]."""
    page, size = _paging()
    try:
        records = select_records(
            collection, request.args.get("filter", ""), request.args.get("orderby", "")
        )
    except QueryError as exc:
        location = "filter" if request.args.get("filter") else "orderby"
        raise invalid(location, str(exc)) from exc
    last = max(1, math.ceil(len(records) / size))
    chunk = records[(page - 1) * size : page * size]
    headers = {"Link": _link_header(page, size, last), "X-Total-Count": str(len(records))}
    return json_response({"list": [render(r) for r in chunk]}, 200, headers)
