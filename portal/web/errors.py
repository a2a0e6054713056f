"""Error pages that say what happened, in the portal's layout."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.extensions import db


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        message = "Your form expired or came from another site. Reload the page and try again."
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        custom = error.description != type(error).description  # abort(400, "why") says why
        message = error.description if custom else _MESSAGES.get(code)
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(500)
    def _server(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        return render_template("errors/error.html", code=500, message=_MESSAGES[500]), 500


_MESSAGES = {
    403: "Your role does not allow this. Ask an agency admin if you need it.",
    404: "There is nothing here, or it belongs to a clinic you do not have access to.",
    405: "That action is not available this way.",
    500: "Something went wrong on our side. The error has been logged.",
}
