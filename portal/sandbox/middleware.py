"""Hooks that apply to every upstream by URL prefix: faults, rate limits, the request log.

The control plane (/_sandbox/) is never faulted, limited or logged.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request

from .cliniko import assumptions as cliniko_guess
from .core import iso_z
from .faults import Decision
from .ratelimit import seconds_until
from .reckon import assumptions as reckon_guess
from .requestlog import credential
from .vaocherapp import assumptions as vaocherapp_guess

PREFIXES = (
    ("/reckon-identity/", "reckon-identity"),
    ("/reckon/", "reckon"),
    ("/cliniko/", "cliniko"),
    ("/vaocherapp/", "vaocherapp"),
)
ERROR_BODIES = {
    500: "Internal Server Error",
    502: "<html><body><h1>502 Bad Gateway</h1></body></html>",
    503: "<html><body><h1>503 Service Unavailable</h1></body></html>",
    504: "<html><body><h1>504 Gateway Time-out</h1></body></html>",
}


def upstream_for(path: str) -> str | None:
    """Which emulated service a path belongs to."""
    return next((name for prefix, name in PREFIXES if path.startswith(prefix)), None)


def throttled(upstream: str, reset_at: float, now: float) -> Response:
    """Each upstream's own 429: Cliniko's X-RateLimit-Reset, Laravel's and APIM's Retry-After."""
    wait = seconds_until(reset_at, now)
    if upstream == "cliniko":
        return Response(
            cliniko_guess.CLINIKO_THROTTLED_TEXT, 429, {"X-RateLimit-Reset": str(int(now + wait))}
        )
    if upstream == "vaocherapp":
        body: dict[str, Any] = {"message": vaocherapp_guess.VAOCHERAPP_THROTTLED}
    else:
        body = reckon_guess.throttled_body(wait)
    response = jsonify(body)
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def _drop_connection() -> Response:
    """Close the socket under the request so the client sees the connection die mid-call."""
    g.sandbox_fault = "drop"
    # Log first: once the socket is gone the client may read the log before after() runs.
    _record(status=0)
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone is the effect we wanted
            sock.shutdown(socket.SHUT_RDWR)
    return Response(status=500)


def _apply(decision: Decision, upstream: str, now: float) -> Response | None:
    if decision.latency:
        time.sleep(decision.latency)
    if decision.kind is None:
        return None
    g.sandbox_fault = decision.kind
    if decision.kind == "drop":
        return _drop_connection()
    if decision.kind == "hang":
        # Sleep past the client's timeout, then carry on: the call may still take effect late.
        time.sleep(decision.hang_seconds)
        return None
    if decision.kind == "429":
        return throttled(upstream, now + 1, now)
    return Response(ERROR_BODIES.get(decision.status, "Error"), decision.status)


def before() -> Response | None:
    upstream = upstream_for(request.path)
    if upstream is None:
        return None
    g.sandbox_upstream = upstream
    world = current_app.extensions["sandbox"]
    faulted = _apply(
        world.faults.decide(upstream, world.clock.now()), upstream, world.clock.now().timestamp()
    )
    if faulted is not None or g.get("sandbox_fault") == "drop":
        return faulted
    now = world.clock.now().timestamp()
    reset_at = world.ratelimits.check(upstream, credential(request), now)
    return None if reset_at is None else throttled(upstream, reset_at, now)


def _record(status: int) -> None:
    """Add this request to the upstream's request log, once."""
    upstream = g.get("sandbox_upstream")
    if upstream is None or g.get("sandbox_logged"):
        return
    g.sandbox_logged = True
    world = current_app.extensions["sandbox"]
    world.requests.record(
        {
            "upstream": upstream,
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("utf-8", "replace"),
            "status": status,
            "credential_tail": credential(request)[-8:],
            "fault": g.get("sandbox_fault"),
            "at": iso_z(world.clock.now()),
            "t": time.time(),  # wall time to the microsecond, to check windows of rate limits
        }
    )


def after(response: Response) -> Response:
    _record(response.status_code)
    return response


def install(app: Flask) -> None:
    """Register the hooks first, so they run before any blueprint's own checks."""
    app.before_request(before)
    app.after_request(after)
