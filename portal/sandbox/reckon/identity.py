"""Reckon's identity server: code-flow consent, token endpoint, discovery [DOC reckon.md §1]."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template_string,
    request,
)

from . import assumptions as A
from .tokens import OAuthError
from .world import ReckonWorld

bp = Blueprint("reckon_identity", __name__, url_prefix="/reckon-identity")

AUTHORIZE_FIELDS = ("client_id", "response_type", "scope", "redirect_uri", "state", "nonce")
CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reckon - Sign in</title></head>
<body>
<main>
  <h1>Reckon sign in</h1>
  <p id="reckon-consent-app"><strong>{{ app_name }}</strong> wants to use your Reckon One books.
  </p>
  <ul id="reckon-consent-scopes">{% for s in scopes %}<li>{{ s }}</li>{% endfor %}</ul>
  <form method="post" action="{{ url_for('reckon_identity.decide') }}">
    {% for k, v in fields.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
    <label for="reckon-user">Sign in as</label>
    <select id="reckon-user" name="user_id">
      {% for u in users %}
      <option value="{{ u.id }}">{{ u.username }} ({{ u.name }})</option>
      {% endfor %}
    </select>
    <button type="submit" id="reckon-allow" name="decision" value="allow">Allow</button>
    <button type="submit" id="reckon-deny" name="decision" value="deny">Deny</button>
  </form>
</main>
</body></html>"""


def _world() -> ReckonWorld:
    world: ReckonWorld = current_app.extensions["sandbox"].reckon
    return world


def _lock() -> Any:
    return current_app.extensions["sandbox"].lock


def _back(redirect_uri: str, **params: str) -> Response:
    """302 to the client's callback with the given query parameters (state echoed)."""
    query = urlencode({k: v for k, v in params.items() if v})
    separator = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{query}"})


def _bad_request(message: str) -> Response:
    # Why no redirect: with an unknown client or callback, the callback cannot be trusted.
    return Response(f"<h1>Invalid request</h1><p>{message}</p>", status=400, mimetype="text/html")


def _check_authorize(params: dict[str, str]) -> Response | None:
    """Validate an authorization request; returns the error response, if any."""
    world = _world()
    if params["client_id"] != world.app_credentials["client_id"]:
        return _bad_request("unauthorized_client: unknown client_id")
    uri = urlsplit(params["redirect_uri"])
    if uri.scheme != "http" or uri.hostname not in world.tokens.settings.redirect_hosts:
        return _bad_request("invalid redirect_uri: it must be a registered loopback callback")
    state = params["state"]
    if params["response_type"] != "code":
        return _back(params["redirect_uri"], error="unsupported_response_type", state=state)
    scopes = params["scope"].split()
    if not scopes or any(s not in A.KNOWN_SCOPES for s in scopes):
        return _back(params["redirect_uri"], error="invalid_scope", state=state)
    return None


@bp.get("/connect/authorize")
def authorize() -> Response | str:
    """The consent page the book owner signs in on."""
    params = {k: request.args.get(k, "") for k in AUTHORIZE_FIELDS}
    with _lock():
        problem = _check_authorize(params)
        if problem is not None:
            return problem
        return render_template_string(
            CONSENT_PAGE,
            app_name=A.APP_NAME,
            scopes=params["scope"].split(),
            fields=params,
            users=_world().users,
        )


@bp.post("/connect/authorize")
def decide() -> Response:
    """Allow -> a code for the callback; Deny -> access_denied."""
    params = {k: request.form.get(k, "") for k in AUTHORIZE_FIELDS}
    with _lock():
        problem = _check_authorize(params)
        if problem is not None:
            return problem
        world = _world()
        user = world.user(request.form.get("user_id", ""))
        if request.form.get("decision") != "allow" or user is None:
            return _back(params["redirect_uri"], error="access_denied", state=params["state"])
        scope = tuple(params["scope"].split())
        code = world.tokens.issue_code(user, scope, params["redirect_uri"], params["nonce"])
        return _back(
            params["redirect_uri"], code=code, scope=" ".join(scope), state=params["state"]
        )


def _client_credentials() -> tuple[str, str]:
    """client_id and secret from Basic auth [DOC], or the form if client_secret_post is on."""
    scheme, _, blob = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(blob.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", 401) from exc
        return unquote(client_id), unquote(secret)
    if A.ALLOW_CLIENT_SECRET_POST:
        return request.form.get("client_id", ""), request.form.get("client_secret", "")
    return "", ""


def _authenticate_client(world: ReckonWorld) -> None:
    client_id, secret = _client_credentials()
    creds = world.app_credentials
    if client_id != creds["client_id"] or not hmac.compare_digest(secret, creds["client_secret"]):
        raise OAuthError("invalid_client", 401)


def _grant(world: ReckonWorld) -> dict[str, object]:
    """Run the requested grant and return the token response."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", description="use application/x-www-form-urlencoded")
    _authenticate_client(world)
    grant_type = request.form.get("grant_type", "")
    if grant_type == "authorization_code":
        code, redirect_uri = request.form.get("code", ""), request.form.get("redirect_uri", "")
        if not code or not redirect_uri:
            raise OAuthError("invalid_request", description="code and redirect_uri are required")
        return world.tokens.issue_tokens(world.tokens.redeem_code(code, redirect_uri))
    if grant_type == "refresh_token":
        token = request.form.get("refresh_token", "")
        if not token:
            raise OAuthError("invalid_request", description="refresh_token is required")
        return world.tokens.issue_tokens(world.tokens.redeem_refresh(token))
    raise OAuthError("unsupported_grant_type")


@bp.post("/connect/token")
def token() -> Response:
    """The token endpoint: authorization_code and refresh_token grants."""
    with _lock():
        try:
            body, status = _grant(_world()), 200
        except OAuthError as exc:
            body = {"error": exc.error}
            if exc.description:
                body["error_description"] = exc.description
            status = exc.status
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="reckon-identity"'
    return response


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    """OpenID discovery, with endpoints on whatever host the sandbox is served from."""
    issuer = request.url_root.rstrip("/") + bp.url_prefix  # type: ignore[operator]
    return jsonify(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/connect/authorize",
            "token_endpoint": f"{issuer}/connect/token",
            "scopes_supported": list(A.KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        }
    )
