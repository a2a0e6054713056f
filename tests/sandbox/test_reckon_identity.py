"""Contract tests for the Reckon identity emulator, over real HTTP (reckon.md §1)."""

from __future__ import annotations

import base64
import json

from tests.sandbox.reckon_helpers import (
    CALLBACK,
    authorize_params,
    code_for_tokens,
    consent,
    new_session,
    token_request,
)


def _api_status(sandbox, token: str) -> int:
    key = sandbox.world.reckon.app_credentials["subscription_key"]
    headers = {"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": key}
    url = f"{sandbox.url}/reckon/r1/v2/books"
    return new_session().get(url, headers=headers, timeout=10).status_code


def test_consent_page_shows_app_scopes_users_and_buttons(sandbox):
    """reckon.md §1: authorize takes client_id, response_type=code, scope, redirect_uri, state."""
    url = f"{sandbox.url}/reckon-identity/connect/authorize"
    page = new_session().get(url, params=authorize_params(sandbox), timeout=10)
    assert page.status_code == 200
    for needle in ('id="reckon-allow"', 'id="reckon-deny"', 'id="reckon-user"', "offline_access"):
        assert needle in page.text
    assert "Clinic Portal" in page.text


def test_allow_redirects_with_code_and_state(sandbox):
    """reckon.md §1: the owner's consent sends a code back to redirect_uri with the state."""
    query = consent(sandbox, "allow")
    assert query["state"] == ["st-123"]
    assert query["code"][0]


def test_deny_redirects_with_access_denied(sandbox):
    """RFC 6749 §4.1.2.1 (Reckon uses a standard OAuth server): denial is error=access_denied."""
    query = consent(sandbox, "deny")
    assert query == {"error": ["access_denied"], "state": ["st-123"]}


def test_unknown_client_is_rejected_without_redirect(sandbox):
    """RFC 6749 §4.1.2.1: an unknown client_id must not redirect."""
    url = f"{sandbox.url}/reckon-identity/connect/authorize"
    params = authorize_params(sandbox, client_id="not-a-client")
    reply = new_session().get(url, params=params, allow_redirects=False, timeout=10)
    assert reply.status_code == 400


def test_non_loopback_redirect_uri_is_rejected(sandbox):
    """reckon.md §1: redirect_uri must match the registered callback (loopback in the sandbox)."""
    url = f"{sandbox.url}/reckon-identity/connect/authorize"
    params = authorize_params(sandbox, redirect_uri="https://evil.example/cb")
    reply = new_session().get(url, params=params, allow_redirects=False, timeout=10)
    assert reply.status_code == 400


def test_wrong_response_type_redirects_with_error(sandbox):
    """reckon.md §1: only response_type=code is supported."""
    url = f"{sandbox.url}/reckon-identity/connect/authorize"
    params = authorize_params(sandbox, response_type="token")
    reply = new_session().get(url, params=params, allow_redirects=False, timeout=10)
    assert reply.status_code == 302
    assert "error=unsupported_response_type" in reply.headers["Location"]


def test_code_exchange_returns_documented_fields(sandbox):
    """reckon.md §1: token response has access_token, refresh_token, expires_in 10800, Bearer."""
    tokens = code_for_tokens(sandbox)
    assert tokens["expires_in"] == 10800
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    assert tokens["access_token"]
    assert tokens["id_token"]
    assert set(tokens["scope"].split()) == {"openid", "read", "write", "offline_access"}
    assert _api_status(sandbox, tokens["access_token"]) == 200


def test_id_token_carries_nonce_and_audience(sandbox):
    """reckon.md §1: an OpenID id_token accompanies the tokens."""
    payload = code_for_tokens(sandbox)["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["nonce"] == "n-456"
    assert claims["aud"] == sandbox.world.reckon.app_credentials["client_id"]


def test_code_is_single_use(sandbox):
    """RFC 6749 §4.1.2: a code used twice is invalid_grant."""
    code = consent(sandbox)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert token_request(sandbox, data).status_code == 200
    second = token_request(sandbox, data)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_at_exchange(sandbox):
    """reckon.md §1: redirect_uri must exactly match the one authorised."""
    code = consent(sandbox)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK + "/x"}
    reply = token_request(sandbox, data)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_code_expires_on_the_sandbox_clock(sandbox):
    """reckon_assumptions: codes live 300 s (IdentityServer's default)."""
    code = consent(sandbox)["code"][0]
    sandbox.world.clock.advance(301)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert token_request(sandbox, data).json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client_401(sandbox):
    """reckon.md §1: the token endpoint authenticates the client with Basic auth."""
    data = {"grant_type": "refresh_token", "refresh_token": "x"}
    reply = token_request(sandbox, data, secret="wrong")
    assert reply.status_code == 401
    assert reply.json() == {"error": "invalid_client"}


def test_token_endpoint_needs_form_encoding(sandbox):
    """reckon.md §1: Content-Type: application/x-www-form-urlencoded."""
    creds = sandbox.world.reckon.app_credentials
    reply = new_session().post(
        f"{sandbox.url}/reckon-identity/connect/token",
        json={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


def test_unknown_grant_type(sandbox):
    """RFC 6749 §5.2: unsupported_grant_type."""
    reply = token_request(sandbox, {"grant_type": "password"})
    assert reply.json() == {"error": "unsupported_grant_type"}


def test_no_refresh_token_without_offline_access(sandbox):
    """reckon.md §1: offline access is what allows refresh tokens."""
    tokens = code_for_tokens(sandbox, scope="openid read write")
    assert "refresh_token" not in tokens


def test_refresh_rotates_and_old_token_stops_working(sandbox):
    """reckon.md §1: store the new refresh_token on every refresh (rotation)."""
    first = code_for_tokens(sandbox)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = token_request(sandbox, data)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    again = token_request(sandbox, data)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert _api_status(sandbox, second.json()["access_token"]) == 200


def test_access_token_expires_after_10800_seconds(sandbox):
    """reckon.md §1: access tokens live 180 minutes; then the API answers 401."""
    token = code_for_tokens(sandbox)["access_token"]
    sandbox.world.clock.advance(10799)
    assert _api_status(sandbox, token) == 200
    sandbox.world.clock.advance(2)
    assert _api_status(sandbox, token) == 401


def test_settings_knob_shortens_expires_in(sandbox):
    """Control route: POST /_sandbox/reckon/settings {"access_token_ttl"} for expiry tests."""
    url = f"{sandbox.url}/_sandbox/reckon/settings"
    reply = new_session().post(url, json={"access_token_ttl": 60}, timeout=10)
    assert reply.json()["access_token_ttl"] == 60
    tokens = code_for_tokens(sandbox)
    assert tokens["expires_in"] == 60
    sandbox.world.clock.advance(61)
    assert _api_status(sandbox, tokens["access_token"]) == 401


def test_refresh_token_expires_after_45_days(sandbox):
    """reckon.md §1: refresh tokens are good for 45 days rolling."""
    tokens = code_for_tokens(sandbox)
    sandbox.world.clock.advance(45 * 86400 + 1)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_request(sandbox, data).json()["error"] == "invalid_grant"


def test_revoke_control_route_makes_refresh_fail(sandbox):
    """Control route: POST /_sandbox/reckon/revoke {"refresh_token"} simulates a revoked grant."""
    tokens = code_for_tokens(sandbox)
    url = f"{sandbox.url}/_sandbox/reckon/revoke"
    body = {"refresh_token": tokens["refresh_token"]}
    assert new_session().post(url, json=body, timeout=10).json() == {"revoked": 1}
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_request(sandbox, data).json()["error"] == "invalid_grant"


def test_discovery_document_names_the_endpoints(sandbox):
    """reckon.md §1: discovery at /.well-known/openid-configuration."""
    url = f"{sandbox.url}/reckon-identity/.well-known/openid-configuration"
    doc = new_session().get(url, timeout=10).json()
    assert doc["token_endpoint"] == f"{sandbox.url}/reckon-identity/connect/token"
    assert doc["authorization_endpoint"].endswith("/connect/authorize")


def test_owner_login_reaches_every_book(sandbox):
    """reckon.md §2: GET /books lists the books the signed-in user can reach."""
    token = code_for_tokens(sandbox)["access_token"]  # user 0 is the owner
    key = sandbox.world.reckon.app_credentials["subscription_key"]
    headers = {"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": key}
    books = new_session().get(f"{sandbox.url}/reckon/r1/v2/books", headers=headers, timeout=10)
    ids = {b["id"] for b in books.json()["list"]}
    assert ids == set(sandbox.world.reckon.books_by_clinic)
