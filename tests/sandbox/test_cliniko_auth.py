"""Cliniko authentication and required headers (cliniko.md §1)."""

from __future__ import annotations

import requests

from tests.fixtures.sandbox import CLINIKO_HEADERS, SandboxHandle


def test_basic_auth_with_key_and_empty_password(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: HTTP Basic, username = API key, empty password."""
    base, session = sandbox.cliniko(1)
    assert session.get(f"{base}/patients", timeout=10).status_code == 200


def test_key_for_another_shard_gets_bare_401(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: a key sent to the wrong shard gets a plain 401 (ISS#317)."""
    key = sandbox.clinic(1)["cliniko"]["api_key"]  # an -au2 key
    response = requests.get(
        f"{sandbox.url}/cliniko/au1/v1/patients",
        auth=(key, ""),
        headers=CLINIKO_HEADERS,
        timeout=10,
    )
    assert response.status_code == 401
    assert "message" not in response.text


def test_key_without_suffix_means_au1(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: a key with no shard suffix belongs to au1, so elsewhere it is refused."""
    key = sandbox.clinic(1)["cliniko"]["api_key"].rsplit("-", 1)[0]
    response = requests.get(
        f"{sandbox.url}/cliniko/au2/v1/patients",
        auth=(key, ""),
        headers=CLINIKO_HEADERS,
        timeout=10,
    )
    assert response.status_code == 401


def test_unknown_key_is_401(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: without a valid key there is no access."""
    response = requests.get(
        f"{sandbox.url}/cliniko/au1/v1/patients",
        auth=("nope-au1", ""),
        headers=CLINIKO_HEADERS,
        timeout=10,
    )
    assert response.status_code == 401


def test_user_agent_with_contact_email_is_required(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: User-Agent 'Name (email)' required; the 403 is our inferred block."""
    base, session = sandbox.cliniko()
    session.headers["User-Agent"] = "python-requests/2.32"
    response = session.get(f"{base}/patients", timeout=10)
    assert response.status_code == 403
    assert "User-Agent" in response.json()["message"]


def test_accept_json_is_required(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: Accept: application/json required; the 406 is inferred."""
    base, session = sandbox.cliniko()
    session.headers["Accept"] = "text/html"
    assert session.get(f"{base}/patients", timeout=10).status_code == 406


def test_settings_show_account(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: GET /settings → account.{id, name, country, time_zone, currency_symbol, …}."""
    base, session = sandbox.cliniko(2)
    account = session.get(f"{base}/settings", timeout=10).json()["account"]
    assert {"id", "name", "country", "time_zone", "currency_symbol", "subdomain"} <= set(account)
    assert account["name"] == sandbox.clinic(2)["name"]
    assert account["subdomain"] == sandbox.clinic(2)["cliniko"]["subdomain"]


def test_user_is_the_keys_owner(sandbox: SandboxHandle) -> None:
    """cliniko.md §4: GET /user returns the key's own user."""
    base, session = sandbox.cliniko()
    user = session.get(f"{base}/user", timeout=10).json()
    assert user["role"] == "administrator"
    assert user["links"]["self"].startswith(f"{base}/users/")


def test_shards_differ_across_clinics(sandbox: SandboxHandle) -> None:
    """cliniko.md §1: the shard is the key's suffix; each demo clinic sits on its own shard."""
    clinics = sandbox.state()["clinics"]
    shards = [c["cliniko"]["shard"] for c in clinics]
    assert len(clinics) == 4
    assert len(set(shards)) == 4
    assert all(c["cliniko"]["api_key"].endswith(f"-{c['cliniko']['shard']}") for c in clinics)
