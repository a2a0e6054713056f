"""Error pages that say what happened, in the portal's layout.

Each rolls the request's writes back before rendering, so the page (its navigation reads the
database) never sees a half-done change or a session a failed statement has broken.
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .transaction import failed_page


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        message = "Your form expired or came from another site. Reload the page and try again."
        return _page(400, message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        custom = error.description != type(error).description  # abort(400, "why") says why
        return _page(code, error.description if custom else _MESSAGES.get(code))

    @app.errorhandler(500)
    def _server(error: Exception) -> tuple[str, int]:
        return _page(500, _MESSAGES[500])


def _page(code: int, message: str | None) -> tuple[str, int]:
    return failed_page(
        lambda: (render_template("errors/error.html", code=code, message=message), code)
    )


_MESSAGES = {
    403: "Your role does not allow this. Ask an agency admin if you need it.",
    404: "There is nothing here, or it belongs to a clinic you do not have access to.",
    405: "That action is not available this way.",
    500: "Something went wrong on our side. The error has been logged.",
}
