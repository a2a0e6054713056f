"""One URL serves a full page or the fragment HTMX asked for, chosen by the HX-Request header."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from portal.extensions import db, htmx


def page_or_fragment(page_template: str, fragment_template: str, **context: Any) -> str:
    """Render the fragment for HTMX requests (except boosted navigation), else the whole page."""
    if htmx and not htmx.boosted:
        return render_template(fragment_template, **context)
    return render_template(page_template, **context)


def see_other(location: str) -> BaseResponse:
    """303 after a state change; for HTMX, HX-Redirect so the browser navigates to the result."""
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def done(message: str, location: str, category: str = "success") -> BaseResponse:
    """Say what happened and show where it happened (the request's plumbing commits it)."""
    flash(message, category)
    return see_other(location)


MAX_PAGE = 100_000  # past any real list; a 20-digit page number must not reach the database


def paginate(stmt: Any, per_page: int) -> Any:
    """A Flask-SQLAlchemy page of `stmt` from ?page=N (out-of-range pages come back empty)."""
    page = min(request.args.get("page", 1, type=int) or 1, MAX_PAGE)
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)
