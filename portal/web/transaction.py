"""One transaction per request, ended by this plumbing and never by a view (indico's RH._process).

When the response is ready the session is committed if it is a success (below 400: pages, 3xx
redirects, HTMX's 204 with HX-Redirect) and rolled back otherwise, or when anything raised. A
`DomainError` no view caught becomes a rollback, a flash of its message and a 303 back to where
the person came from (HX-Redirect for HTMX, so the page they are on shows the message). A view
that shows such an error itself answers with `failed`, `failed_page` or `form_again`, which roll
back before the response is made. Work that must see the request's writes committed
(queueing a job that reads them) waits for the commit with `after_commit`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, flash, g, render_template, request, url_for
from werkzeug.wrappers import Response

from portal.extensions import end_transaction
from portal.services import DomainError

from .htmx import see_other

R = TypeVar("R")
log = logging.getLogger(__name__)
_FAILED = "transaction_failed"
_AFTER_COMMIT = "transaction_after_commit"


def register(app: Flask) -> None:
    app.after_request(_end)
    app.teardown_request(_end_after_error)
    app.register_error_handler(DomainError, _domain_error)


def failed(message: str, back: str | None = None) -> Response:
    """An action the domain refused: its writes rolled back, `message` flashed as an error, and a
    303 to `back`, or to where the person came from."""
    _roll_back()
    flash(message, "error")
    return see_other(back or came_from())


def failed_page(render: Callable[[], R]) -> R:
    """An action the domain refused, answered with a page that says why itself (an error page, a
    form and its message): the writes are rolled back before `render` runs, so the page shows the
    state from before the attempt, and nothing is committed even if the page is a 200."""
    _roll_back()
    return render()


def form_again(message: str, template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A form the domain refused, shown again with `message` flashed; written after the rollback,
    so the page shows the state from before the attempt."""
    flash(message, "error")
    return failed_page(lambda: (render_template(template, **context), status))


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once this request's transaction has committed (never, if it rolls back)."""
    g.setdefault(_AFTER_COMMIT, []).append(callback)


def came_from() -> str:
    """The page of this site the request came from (HTMX names it; browsers send Referer), or the
    home page, which leads to the person's clinic."""
    for candidate in (request.headers.get("HX-Current-URL"), request.referrer):
        if candidate:
            parts = urlsplit(candidate)
            if (parts.scheme, parts.netloc) == (request.scheme, request.host):
                return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("home.index")


def _domain_error(error: DomainError) -> Response:
    return failed(str(error))


def _roll_back() -> None:
    g.setdefault(_FAILED, True)
    end_transaction(commit=False)


def _end(response: Response) -> Response:
    refused, callbacks = g.pop(_FAILED, False), g.pop(_AFTER_COMMIT, [])
    succeeded = response.status_code < 400 and not refused
    end_transaction(commit=succeeded)
    for callback in callbacks if succeeded else []:
        try:
            callback()
        except Exception:  # what was committed stands; the response must still say so
            log.exception("after-commit work failed")
    return response


def _end_after_error(error: BaseException | None) -> None:
    """An exception no handler turned into a response (tests propagate them): roll back."""
    if error is not None:
        g.pop(_FAILED, None)
        g.pop(_AFTER_COMMIT, None)
        end_transaction(commit=False)
