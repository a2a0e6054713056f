"""The control plane under /_sandbox: what real APIs do not expose (seed, clock, faults, logs)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..core import iso_z, json_error, parse_iso
from ..faults import UPSTREAMS, FaultError, parse_config
from ..ratelimit import DEFAULT_LIMITS, Limit

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def world() -> Any:
    return current_app.extensions["sandbox"]


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def bad(message: str, status: int = 400) -> Response:
    return json_error(status, {"error": message})


@bp.post("/reset")
def reset() -> Response:
    """Re-seed everything (and clear faults, limits, logs): {"seed": 1, "scale": 1}."""
    data = body()
    try:
        seed, scale = int(data.get("seed", 1)), int(data.get("scale", 1))
    except (TypeError, ValueError):
        return bad("seed and scale must be integers")
    if scale < 1:
        return bad("scale must be at least 1")
    world().reset(seed=seed, scale=scale)
    return jsonify({"seed": seed, "scale": scale, "now": iso_z(world().clock.now())})


def _reckon_state(index: int) -> dict[str, Any]:
    reckon = world().reckon
    books = getattr(reckon, "books_by_clinic", None) or []
    return {"book_id": books[index] if index < len(books) else None}


@bp.get("/state")
def state() -> Response:
    """Every clinic's credentials across the three systems, and the Reckon app's."""
    host = request.host_url.rstrip("/")
    clinics = [
        {
            "name": c.spec.name,
            "agency": c.spec.agency,
            "cliniko": {
                "api_key": c.cliniko.api_key,
                "shard": c.spec.shard,
                "subdomain": c.spec.subdomain,
                "base_url": f"{host}/cliniko/{c.spec.shard}/v1",
            },
            "vaocherapp": {
                "api_key": c.vaocherapp.api_key,
                "webhook_secret": c.vaocherapp.webhook_secret,
                "account_id": c.vaocherapp.id,
                "base_url": f"{host}/vaocherapp/v1",
            },
            "reckon": _reckon_state(i),
        }
        for i, c in enumerate(world().clinics)
    ]
    app_credentials = getattr(world().reckon, "app_credentials", None) or {}
    return jsonify(
        {
            "clinics": clinics,
            "reckon_app": {
                key: app_credentials.get(key)
                for key in ("client_id", "client_secret", "subscription_key")
            },
            "seed": world().seed,
            "scale": world().scale,
            "now": iso_z(world().clock.now()),
        }
    )


@bp.route("/clock", methods=["GET", "POST"])
def clock() -> Response:
    """Read or move the clock: {"advance_seconds": 3600} or {"now": "2025-01-01T00:00:00Z"}."""
    data = body()
    try:
        if "advance_seconds" in data:
            world().clock.advance(float(data["advance_seconds"]))
        elif "now" in data:
            world().clock.set(parse_iso(str(data["now"])))
    except (TypeError, ValueError):
        return bad("advance_seconds must be a number and now an ISO datetime")
    return jsonify({"now": world().clock.now().isoformat()})


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log() -> Response:
    """The upstream request log, optionally for one upstream: ?upstream=cliniko&since=SEQ."""
    if request.method == "DELETE":
        world().requests.clear()
        return Response(status=204)
    since = request.args.get("since", "0")
    entries = world().requests.entries(
        request.args.get("upstream"), int(since) if since.isdigit() else 0
    )
    return jsonify({"requests": entries})


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    """Set one upstream's faults (replacing earlier ones), list them, or clear them."""
    if request.method == "GET":
        return jsonify({"faults": world().faults.describe()})
    if request.method == "DELETE":
        world().faults.clear(request.args.get("upstream"))
        return Response(status=204)
    data = body()
    if data.get("upstream") not in UPSTREAMS:
        return bad(f"upstream must be one of {', '.join(UPSTREAMS)}")
    try:
        config = parse_config(data, world().clock.now())
    except FaultError as exc:
        return bad(str(exc))
    world().faults.set(data["upstream"], config)
    return jsonify({"faults": world().faults.describe()})


@bp.route("/ratelimits", methods=["GET", "POST", "DELETE"])
def ratelimits() -> Response:
    """Scale limits for fast tests: {"cliniko": {"limit": 200, "window_seconds": 1}}; null = off."""
    limiter = world().ratelimits
    if request.method == "DELETE":
        for name, rule in DEFAULT_LIMITS.items():
            limiter.configure(name, rule)
        return Response(status=204)
    if request.method == "POST":
        data = body()
        if not data or any(name not in UPSTREAMS for name in data):
            return bad(f"keys must be among {', '.join(UPSTREAMS)}")
        try:
            rules = {
                n: None if r is None else Limit(int(r["limit"]), float(r["window_seconds"]))
                for n, r in data.items()
            }
        except (TypeError, KeyError, ValueError):
            return bad("each value is null or {limit, window_seconds}")
        for name, rule in rules.items():
            limiter.configure(name, rule)
    return jsonify({"ratelimits": limiter.describe()})
