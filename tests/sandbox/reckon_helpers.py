"""Helpers for the Reckon emulator's contract tests (raw HTTP with requests; no portal client)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

CALLBACK = "http://127.0.0.1:8765/reckon/callback"
SCOPES = "openid read write offline_access"


def new_session() -> requests.Session:
    """A session that ignores proxy settings from the environment (everything is loopback)."""
    session = requests.Session()
    session.trust_env = False
    return session


@dataclass
class ReckonApi:
    """One book's API base with a valid bearer token and subscription key."""

    url: str
    book: str
    key: str
    token: str
    session: requests.Session

    def headers(self, **extra: str) -> dict[str, str]:
        """The two headers every call needs, plus any extras."""
        return {
            "Authorization": f"Bearer {self.token}",
            "Ocp-Apim-Subscription-Key": self.key,
            **extra,
        }

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` relative to the book (`customers`), or absolute under v2 when it starts with /."""
        target = path[1:] if path.startswith("/") else f"{self.book}/{path}"
        headers = self.headers(**kwargs.pop("headers", {}))
        url = f"{self.url}/reckon/r1/v2/{target}"
        return self.session.request(method, url, headers=headers, timeout=10, **kwargs)

    def create(self, path: str, body: dict[str, Any]) -> str:
        """POST and return the new id, failing loudly on anything but 201."""
        response = self.call("POST", path, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def patch(self, path: str, body: dict[str, Any]) -> requests.Response:
        """A JSON merge patch."""
        headers = {"Content-Type": "application/merge-patch+json"}
        return self.call("PATCH", path, json=body, headers=headers)


def reckon_api(sandbox: Any, clinic: int = 0) -> ReckonApi:
    """A ReckonApi for clinic `clinic`'s book, with a token from the control route."""
    world = sandbox.world.reckon
    book = world.books_by_clinic[clinic]
    session = new_session()
    reply = session.post(f"{sandbox.url}/_sandbox/reckon/token", json={"book_id": book}, timeout=10)
    token = reply.json()["access_token"]
    return ReckonApi(sandbox.url, book, world.app_credentials["subscription_key"], token, session)


def authorize_params(sandbox: Any, **overrides: str) -> dict[str, str]:
    """Query parameters of a well-formed authorization request."""
    params = {
        "client_id": sandbox.world.reckon.app_credentials["client_id"],
        "response_type": "code",
        "scope": SCOPES,
        "redirect_uri": CALLBACK,
        "state": "st-123",
        "nonce": "n-456",
    }
    return params | overrides


def consent(
    sandbox: Any, decision: str = "allow", user: int = 0, **overrides: str
) -> dict[str, list[str]]:
    """Open the consent page, press Allow or Deny as user `user`, return the callback's query."""
    session = new_session()
    page = session.get(
        f"{sandbox.url}/reckon-identity/connect/authorize",
        params=authorize_params(sandbox, **overrides),
        timeout=10,
    )
    assert page.status_code == 200, page.text
    form = {
        k: unescape(v)
        for k, v in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text)
    }
    form["user_id"] = re.findall(r'<option value="([^"]+)"', page.text)[user]
    form["decision"] = decision
    reply = session.post(
        f"{sandbox.url}/reckon-identity/connect/authorize",
        data=form,
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 302, reply.text
    location = reply.headers["Location"]
    assert location.startswith(form["redirect_uri"])
    return parse_qs(urlsplit(location).query)


def token_request(
    sandbox: Any, data: dict[str, str], secret: str | None = None
) -> requests.Response:
    """POST the token endpoint with Basic client auth, form-encoded."""
    creds = sandbox.world.reckon.app_credentials
    auth = (creds["client_id"], creds["client_secret"] if secret is None else secret)
    return new_session().post(
        f"{sandbox.url}/reckon-identity/connect/token", data=data, auth=auth, timeout=10
    )


def code_for_tokens(sandbox: Any, **overrides: str) -> dict[str, Any]:
    """The whole browser flow: consent, then exchange the code."""
    code = consent(sandbox, **overrides)["code"][0]
    redirect_uri = overrides.get("redirect_uri", CALLBACK)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    response = token_request(sandbox, data)
    assert response.status_code == 200, response.text
    return dict(response.json())


def customer(api: ReckonApi, name: str = "Jane Citizen", **fields: Any) -> str:
    """Create a customer; returns its id."""
    return api.create("customers", {"name": name, **fields})


def invoice(
    api: ReckonApi,
    customer_id: str,
    lines: list[dict[str, Any]],
    tax_status: str = "Inclusive",
    approve: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """Create (and by default approve) an invoice; returns it as the API shows it."""
    body = {
        "customer": customer_id,
        "invoiceDate": "2024-05-01T00:00:00Z",
        "amountTaxStatus": tax_status,
        "lineItems": [{"lineNumber": n, **line} for n, line in enumerate(lines, start=1)],
        **fields,
    }
    invoice_id = api.create("invoices", body)
    if approve:
        assert api.patch(f"invoices/{invoice_id}", {"status": "Approved"}).status_code == 204
    return dict(api.call("GET", f"invoices/{invoice_id}").json())


def account_line(amount: float, tax: str = "GST", account: str = "Income") -> dict[str, Any]:
    """An account-coded line."""
    return {"accountDetails": {"ledgerAccount": account, "amount": amount}, "taxRate": tax}


def receipt_body(customer_id: str, links: list[tuple[str, float]], total: float) -> dict[str, Any]:
    """A receipt allocating `total` over `(invoice id, amount)` links."""
    return {
        "customer": customer_id,
        "receiptDate": "2024-05-02T00:00:00Z",
        "totalAmount": total,
        "ledgerAccount": "Cliniko Clearing",
        "paymentMethod": "EFTPOS",
        "transactionLinks": [
            {"transactionId": i, "transactionAmount": a, "transactionType": "Invoice"}
            for i, a in links
        ],
    }
