"""Security headers on every response the portal sends: pages, fragments, CSV, errors, static files.

One after-request hook (ASVS 14.4) rather than a library: the portal needs a fixed set, and the
hook also covers responses made by error handlers. The CSP allows only the portal's own origin:
the vendored htmx runs from a file and the templates carry no inline script or style.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user
from werkzeug.wrappers import Response

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def register_headers(app: Flask) -> None:
    hsts = app.config.get("SESSION_COOKIE_SECURE", False)  # served over HTTPS only

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static" and current_user.is_authenticated:
            # A signed-in page must not outlive the session in a shared browser's cache.
            response.headers["Cache-Control"] = "no-store"
        return response
