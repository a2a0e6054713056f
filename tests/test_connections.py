"""Linking Cliniko, VaocherApp and Reckon One against the sandbox, end to end over real HTTP."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
import requests

from portal.crypto import SecretBox, secret_box
from portal.extensions import db
from portal.models import AuditEvent, Clinic, Connection, ConnectionStatus, Provider
from tests.fixtures.connections import connect_reckon as _connect_reckon
from tests.fixtures.connections import consent as _consent

BONDI = "/c/bondi-physio/connections"


@pytest.fixture
def accounts(sandbox):
    """The sandbox's accounts for Bondi Physio, by upstream."""
    state = requests.get(f"{sandbox.url}/_sandbox/state", timeout=5).json()
    return next(c for c in state["clinics"] if c["name"] == "Bondi Physio")


@pytest.fixture
def manager(demo, login):
    return login("manager@example.com")


def _conn(provider: Provider) -> Connection | None:
    db.session.expire_all()
    return db.session.scalar(db.select(Connection).where(Connection.provider == provider))


# ---- Cliniko -----------------------------------------------------------------------------------
def test_good_cliniko_key_links_and_shows_the_account(manager, client, post, accounts):
    key = accounts["cliniko"]["api_key"]
    assert post(f"{BONDI}/cliniko", {"api_key": key}).status_code == 303
    conn = _conn(Provider.CLINIKO)
    assert conn.status == ConnectionStatus.OK
    assert conn.detail("subdomain") == accounts["cliniko"]["subdomain"]
    assert conn.detail("shard") == accounts["cliniko"]["shard"]
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert conn.detail("account_name") in page
    assert key not in page
    assert f"…{key[-4:]}" in page


def test_wrong_shard_key_is_refused_with_what_to_check(manager, client, post, accounts):
    key = accounts["cliniko"]["api_key"]
    wrong = key.rsplit("-", 1)[0] + ("-uk1" if not key.endswith("-uk1") else "-au1")
    response = post(f"{BONDI}/cliniko", {"api_key": wrong})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Cliniko rejected the API key" in text
    assert "including its suffix" in text
    assert _conn(Provider.CLINIKO) is None


def test_unknown_suffix_names_the_problem(manager, post):
    response = post(f"{BONDI}/cliniko", {"api_key": "abcdefghijkl-zz9"})
    assert "not a Cliniko region we know" in response.get_data(as_text=True)


def test_revoked_key_is_refused(manager, post):
    response = post(f"{BONDI}/cliniko", {"api_key": "MS0xLWl4SzYYrevokedKEYwvNHdeW0pd-au1"})
    assert "Cliniko rejected the API key" in response.get_data(as_text=True)


def test_cliniko_down_saves_the_key_as_failing(manager, post, sandbox, accounts):
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"upstream": "cliniko", "outage": True}, timeout=5
    )
    post(f"{BONDI}/cliniko", {"api_key": accounts["cliniko"]["api_key"]})
    conn = _conn(Provider.CLINIKO)
    assert conn.status == ConnectionStatus.FAILING
    assert "Cliniko" in conn.last_error
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    post(f"{BONDI}/cliniko/check")
    assert _conn(Provider.CLINIKO).status == ConnectionStatus.OK


# ---- VaocherApp --------------------------------------------------------------------------------
def test_vaocherapp_links_with_webhook_url_and_a_rotatable_secret(manager, client, post, accounts):
    linked = post(f"{BONDI}/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"]})
    assert linked.status_code == 303
    conn = _conn(Provider.VAOCHERAPP)
    assert conn.status == ConnectionStatus.OK
    assert conn.detail("currency") == "AUD"
    assert len(conn.webhook_token) >= 32
    old_secret = secret_box().open(conn.sealed_secrets)["webhook_secret"]
    first = client.get(linked.headers["Location"]).get_data(as_text=True)
    assert old_secret in first  # the page after linking shows it, once
    assert 'data-copy="#webhook-secret"' in first  # a copy button (static/js/copy.js)
    assert "VaocherApp linked" in first
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert f"/hooks/vaocherapp/{conn.webhook_token}" in page
    assert old_secret not in page
    # Linking again (a new key) keeps the secret VaocherApp has, and does not show it.
    again = post(f"{BONDI}/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"]})
    assert again.status_code == 303
    assert secret_box().open(_conn(Provider.VAOCHERAPP).sealed_secrets)["webhook_secret"] == (
        old_secret
    )
    assert old_secret not in client.get(f"{BONDI}/").get_data(as_text=True)

    shown = post(f"{BONDI}/vaocherapp/rotate-secret", {"confirmed": "1"}).get_data(as_text=True)
    new_secret = secret_box().open(_conn(Provider.VAOCHERAPP).sealed_secrets)["webhook_secret"]
    assert new_secret != old_secret
    assert new_secret in shown  # once, to paste into VaocherApp
    assert new_secret not in client.get(f"{BONDI}/").get_data(as_text=True)
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "connection.rotate_webhook_secret")
    ).one()
    assert new_secret not in str(event.detail)


def test_vaocherapp_test_mode_uses_test_data(manager, post, accounts):
    post(f"{BONDI}/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"], "test_mode": "y"})
    assert _conn(Provider.VAOCHERAPP).detail("test_mode") is True


# ---- Reckon One --------------------------------------------------------------------------------
def test_reckon_consent_granted_then_book_chosen(manager, client, post, accounts):
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    conn = _conn(Provider.RECKON)
    assert conn.status == ConnectionStatus.OK
    assert conn.detail("book_id") == accounts["reckon"]["book_id"]
    tokens = secret_box().open(conn.sealed_secrets)
    assert tokens["refresh_token"]


def test_reckon_consent_denied_changes_nothing(manager, client, post):
    start = post(f"{BONDI}/reckon/connect")
    back = urlsplit(_consent(start.headers["Location"], decision="deny"))
    response = client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert "Reckon access was not granted" in response.get_data(as_text=True)
    assert _conn(Provider.RECKON) is None


def test_callback_with_a_foreign_state_is_rejected_and_audited(manager, client, post):
    post(f"{BONDI}/reckon/connect")
    response = client.get("/oauth/reckon/callback?code=abc&state=forged")
    assert response.status_code == 400
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "connection.oauth_state_mismatch" in actions
    assert _conn(Provider.RECKON) is None


def test_callback_state_is_single_use(manager, client, post):
    start = post(f"{BONDI}/reckon/connect")
    back = urlsplit(_consent(start.headers["Location"]))
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    assert client.get(f"{back.path}?{back.query}").status_code == 400


def test_expired_token_is_refreshed_and_the_rotated_token_saved(
    manager, client, post, sandbox, accounts
):
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    before = secret_box().open(_conn(Provider.RECKON).sealed_secrets)
    sandbox.world.clock.advance(3 * 3600 + 60)  # past the 10800 s access-token lifetime
    post(f"{BONDI}/reckon/check")
    conn = _conn(Provider.RECKON)
    after = secret_box().open(conn.sealed_secrets)
    assert conn.status == ConnectionStatus.OK
    assert after["refresh_token"] != before["refresh_token"]
    # The old refresh token no longer works: only the saved one can be used from now on.
    sandbox.world.clock.advance(3 * 3600 + 60)
    post(f"{BONDI}/reckon/check")
    assert _conn(Provider.RECKON).status == ConnectionStatus.OK


def test_failed_refresh_means_reconnect_needed(manager, client, post, sandbox, accounts):
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    requests.post(f"{sandbox.url}/_sandbox/reckon/revoke", json={}, timeout=5)
    sandbox.world.clock.advance(3 * 3600 + 60)
    post(f"{BONDI}/reckon/check")
    conn = _conn(Provider.RECKON)
    assert conn.status == ConnectionStatus.RECONNECT_NEEDED
    assert "Reconnect Reckon" in client.get(f"{BONDI}/").get_data(as_text=True)


def test_token_expiry_in_the_middle_of_a_job_is_invisible(
    manager, client, post, sandbox, accounts, run_worker
):
    post(f"{BONDI}/cliniko", {"api_key": accounts["cliniko"]["api_key"]})
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    sandbox.world.clock.advance(3 * 3600 + 60)
    post(f"{BONDI}/check-all")
    run_worker()
    page = client.get("/c/bondi-physio/jobs/").get_data(as_text=True)
    assert "succeeded" in page
    assert _conn(Provider.RECKON).status == ConnectionStatus.OK


def test_disconnect_forgets_the_tokens(manager, client, post, accounts):
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    post(f"{BONDI}/reckon/unlink", {"confirmed": "1"})
    conn = _conn(Provider.RECKON)
    assert conn.sealed_secrets is None
    assert conn.status == ConnectionStatus.NOT_LINKED


# ---- roles, secrets ----------------------------------------------------------------------------
def test_viewers_see_no_controls_and_cannot_change_anything(demo, login, client, post, accounts):
    login("viewer@example.com")
    page = client.get(f"{BONDI}/").get_data(as_text=True)
    assert "Save and test connection" not in page
    assert page.count("<button") == 1  # only "Sign out"
    for path in ("cliniko", "vaocherapp", "reckon/connect", "check-all", "cliniko/unlink"):
        assert post(f"{BONDI}/{path}", {"api_key": "x-au1"}).status_code == 403, path
    assert _conn(Provider.CLINIKO) is None


def test_the_database_holds_no_plaintext_key(manager, post, accounts):
    key = accounts["cliniko"]["api_key"]
    post(f"{BONDI}/cliniko", {"api_key": key})
    raw = db.session.execute(db.text("SELECT sealed_secrets, key_hint, details FROM connection"))
    row = " ".join(str(value) for value in raw.one())
    assert key not in row
    assert key[:-4] not in row


def test_rotating_the_encryption_key_keeps_credentials_readable(manager, post, accounts, app):
    post(f"{BONDI}/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"]})
    from cryptography.fernet import Fernet

    new_key = Fernet.generate_key().decode()
    old_keys = app.config["ENCRYPTION_KEYS"]
    app.extensions["portal.secret_box"] = SecretBox(f"{new_key},{old_keys}")
    try:
        result = app.test_cli_runner().invoke(args=["rotate-encryption-key"])
        assert "1 connection(s) re-encrypted" in result.output
        only_new = SecretBox(new_key)
        values = only_new.open(_conn(Provider.VAOCHERAPP).sealed_secrets)
        assert values["api_key"] == accounts["vaocherapp"]["api_key"]
    finally:
        app.extensions["portal.secret_box"] = SecretBox(old_keys)


def test_secrets_never_reach_the_logs(manager, client, post, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    post(f"{BONDI}/cliniko", {"api_key": accounts["cliniko"]["api_key"]})
    post(f"{BONDI}/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"]})
    _connect_reckon(post, client, accounts["reckon"]["book_id"])
    tokens = secret_box().open(_conn(Provider.RECKON).sealed_secrets)
    hook = secret_box().open(_conn(Provider.VAOCHERAPP).sealed_secrets)["webhook_secret"]
    # Even a careless log line is scrubbed before any handler sees it.
    logging.getLogger("portal.test").warning("leak %s", accounts["cliniko"]["api_key"])
    secrets = [
        accounts["cliniko"]["api_key"],
        accounts["vaocherapp"]["api_key"],
        tokens["access_token"],
        tokens["refresh_token"],
        hook,
    ]
    assert caplog.text  # DEBUG logging really captured the traffic
    for secret in secrets:
        assert secret not in caplog.text


def test_agency_dashboard_shows_connection_health(demo, login, client, post, accounts):
    login("demo@example.com")
    post(f"{BONDI}/cliniko", {"api_key": accounts["cliniko"]["api_key"]})
    page = client.get("/a/harbour/").get_data(as_text=True)
    assert page.count('class="dot dot-ok"') == 1
    assert page.count('class="dot dot-not_linked"') == 8


def test_a_revoked_key_raises_reconnect_needed_and_a_good_check_resolves_it(
    manager, post, sandbox, accounts, run_worker
):
    from portal.jobs.start import start_run
    from portal.models import Problem

    key = accounts["cliniko"]["api_key"]
    assert post(f"{BONDI}/cliniko", {"api_key": key}).status_code == 303
    bondi = db.session.scalar(db.select(Clinic).where(Clinic.slug == "bondi-physio"))
    requests.post(f"{sandbox.url}/_sandbox/cliniko/revoke", json={"api_key": key}, timeout=10)
    start_run(bondi, None, "connections.check")
    run_worker()
    db.session.expire_all()
    problems = {p.kind: p for p in db.session.scalars(db.select(Problem))}
    reconnect = problems["connection_reconnect"]
    assert (reconnect.severity, reconnect.state, reconnect.count) == ("critical", "open", 1)
    assert reconnect.title == "Reconnect Cliniko: it no longer accepts the portal's credentials"
    assert problems["run_failed"].title.startswith("Check connections failed (run #")
    assert problems["run_failed"].severity == "warning"  # connection checks are not critical
    requests.post(f"{sandbox.url}/_sandbox/cliniko/restore", json={"api_key": key}, timeout=10)
    start_run(bondi, None, "connections.check")
    run_worker()
    db.session.expire_all()
    states = {p.kind: p.state for p in db.session.scalars(db.select(Problem))}
    assert states == {"connection_reconnect": "resolved", "run_failed": "resolved"}
