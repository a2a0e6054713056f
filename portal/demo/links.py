"""Demo mode only: link the demo clinics to their sandbox accounts, as a clinic manager would.

Runs on every `flask seed-demo` (every ./run.sh start): the sandbox keeps its state in memory, so
its webhook registrations and Reckon tokens are made again each time it starts. One clinic is
left unlinked so the empty states and the linking flow can be tried.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Clinic, Membership, Provider, Role, User
from portal.services.connections.cliniko import link_cliniko
from portal.services.connections.reckon import (
    begin_authorization,
    choose_book,
    complete_authorization,
)
from portal.services.connections.records import connection_or_none, secrets_of
from portal.services.connections.vaocherapp import link_vaocherapp, webhook_path

UNLINKED_CLINIC = "bondi-physio"  # the demo clinic manager's clinic: try linking it yourself
# Any loopback URL will do: the sandbox redirects the programmatic "browser" here and we read the
# code from the Location header without following it.
DEMO_REDIRECT_URI = "http://127.0.0.1/oauth/reckon/callback"


def link_demo_clinics(portal_url: str) -> list[str]:
    """Link every demo clinic except one to its sandbox accounts; returns the clinics linked."""
    sandbox = current_app.config["SANDBOX_URL"]
    state = requests.get(f"{sandbox}/_sandbox/state", timeout=10).json()
    accounts = {c["name"]: c for c in state["clinics"]}
    linked = []
    for clinic in db.session.scalars(select(Clinic).order_by(Clinic.id)):
        account = accounts.get(clinic.name)
        if clinic.slug == UNLINKED_CLINIC or account is None:
            continue
        actor = _agency_admin(clinic.agency)
        _link_keys(clinic, actor, account)
        _register_webhook(clinic, sandbox, account, portal_url)
        _link_reckon(clinic, actor, sandbox, account["reckon"]["book_id"])
        linked.append(clinic.name)
    db.session.flush()
    return linked


def _agency_admin(agency: Agency) -> User:
    stmt = (
        select(User)
        .join(Membership)
        .where(Membership.agency_id == agency.id, Membership.role == Role.AGENCY_ADMIN)
        .order_by(Membership.id)  # the first admin, when the agency has several
    )
    user = db.session.scalar(stmt.limit(1))
    assert user is not None, f"demo agency {agency.slug} has no admin"
    return user


def _link_keys(clinic: Clinic, actor: User, account: dict) -> None:
    if connection_or_none(clinic, Provider.CLINIKO) is None:
        link_cliniko(clinic, actor, account["cliniko"]["api_key"])
    if connection_or_none(clinic, Provider.VAOCHERAPP) is None:
        link_vaocherapp(clinic, actor, account["vaocherapp"]["api_key"], test_mode=False)


def _register_webhook(clinic: Clinic, sandbox: str, account: dict, portal_url: str) -> None:
    """What a clinic does in VaocherApp's webhook settings: paste our URL and secret."""
    conn = connection_or_none(clinic, Provider.VAOCHERAPP)
    assert conn is not None
    body = {
        "api_key": account["vaocherapp"]["api_key"],
        "url": portal_url.rstrip("/") + webhook_path(conn),
        "secret": secrets_of(conn)["webhook_secret"],
    }
    requests.post(
        f"{sandbox}/_sandbox/vaocherapp/webhooks", json=body, timeout=10
    ).raise_for_status()


def _link_reckon(clinic: Clinic, actor: User, sandbox: str, book_id: str) -> None:
    """The OAuth consent a person would give in the browser, done over HTTP against the sandbox."""
    url, pending = begin_authorization(DEMO_REDIRECT_URI)
    consent = requests.get(url, timeout=10)
    consent.raise_for_status()
    action = re.search(r'<form method="post" action="([^"]+)"', consent.text)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    owner = re.search(r'<option value="([^"]+)"', consent.text)
    if not (action and owner):
        raise RuntimeError("the sandbox consent page changed shape")
    form = {k: unescape(v) for k, v in fields.items()} | {
        "user_id": owner.group(1),
        "decision": "allow",
    }
    answer = requests.post(
        urljoin(url, unescape(action.group(1))), data=form, allow_redirects=False, timeout=10
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query.get("state") == [pending["state"]]
    conn = complete_authorization(clinic, actor, query["code"][0], DEMO_REDIRECT_URI)
    choose_book(clinic, actor, conn, book_id)


def _sandbox_account(clinic: Clinic) -> dict[str, Any] | None:
    sandbox = current_app.config.get("SANDBOX_URL") or ""
    if not sandbox:
        return None
    try:
        state = requests.get(f"{sandbox}/_sandbox/state", timeout=5).json()
    except (requests.RequestException, ValueError):
        return None
    return next((c for c in state.get("clinics", []) if c.get("name") == clinic.name), None)


def sandbox_keys(clinic: Clinic) -> dict[str, str] | None:
    """Demo only: the clinic's sandbox API keys, shown on its Connections page so trying the
    linking flow needs no terminal."""
    account = _sandbox_account(clinic)
    if account is None:
        return None
    return {
        "cliniko": account["cliniko"]["api_key"],
        "vaocherapp": account["vaocherapp"]["api_key"],
    }


def sample_export(clinic: Clinic) -> bytes | None:
    """Demo only: the clinic's Invoice items export, as Cliniko's data export would give it."""
    account = _sandbox_account(clinic)
    if account is None:
        return None
    sandbox = current_app.config["SANDBOX_URL"]
    url = f"{sandbox}/_sandbox/cliniko/exports/invoice-items.csv"
    try:
        answer = requests.get(url, params={"api_key": account["cliniko"]["api_key"]}, timeout=30)
    except requests.RequestException:
        return None
    return answer.content if answer.ok else None
