"""Client-test fixtures: sandbox credentials, fast retry settings, control-plane helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.clients.base import HttpOptions
from portal.clients.ratelimit import clear_shared_limiters
from portal.clients.reckon import ReckonClient
from portal.clients.reckon_identity import ReckonIdentityClient, Tokens

T = TypeVar("T")

# Small timeouts and backoffs keep fault tests fast; the retry logic is the production one.
FAST = HttpOptions(
    connect_timeout=1.0,
    read_timeout=1.0,
    retries=3,
    backoff_base=0.02,
    backoff_cap=0.2,
    max_wait=10.0,
)


@pytest.fixture(autouse=True)
def _fresh_client_limiters() -> Iterator[None]:
    """Each test starts with empty client-side windows, as the re-seeded sandbox does."""
    clear_shared_limiters()
    yield
    clear_shared_limiters()


class Control:
    """The sandbox's control plane (/_sandbox), which real services do not have."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/_sandbox/{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=5)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def faults(self, upstream: str, **knobs: Any) -> None:
        self.post("faults", {"upstream": upstream, "seed": 7, **knobs})

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sandbox/faults", timeout=5)

    def requests(self, upstream: str) -> list[dict[str, Any]]:
        return list(self.get("requests", upstream=upstream)["requests"])


@pytest.fixture
def control(sandbox: Any) -> Control:
    return Control(sandbox.url)


@pytest.fixture
def state(control: Control) -> dict[str, Any]:
    return dict(control.get("state"))


@pytest.fixture
def clinic(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state["clinics"][0])


@pytest.fixture
def big_world(control: Control) -> dict[str, Any]:
    """Re-seed at scale 12 so lists span several 100-row pages; returns the first clinic."""
    control.post("reset", {"seed": 1, "scale": 12})
    return dict(control.get("state")["clinics"][0])


# ---- Reckon: the app registration, a connected book and its tokens -------------------------

CALLBACK = "http://127.0.0.1:5000/connections/reckon/callback"


@pytest.fixture
def app_creds(state):
    return state["reckon_app"]


@pytest.fixture
def book_id(clinic):
    return clinic["reckon"]["book_id"]


@pytest.fixture
def identity(sandbox, app_creds):
    client = ReckonIdentityClient(
        app_creds["client_id"],
        app_creds["client_secret"],
        CALLBACK,
        base_url=f"{sandbox.url}/reckon-identity",
        options=FAST,
    )
    yield client
    client.close()


def consent(sandbox, control, identity, book_id) -> str:
    """Play the book owner on the consent page; return the code the callback receives."""
    url = identity.authorize_url(state="st-1", nonce="n-1")
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    owner = next(u for u in control.get("reckon/state")["users"] if book_id in u["book_ids"])
    answer = requests.post(
        f"{sandbox.url}/reckon-identity/connect/authorize",
        data={**fields, "user_id": owner["id"], "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["st-1"]
    return back["code"][0]


@pytest.fixture
def tokens(sandbox, control, identity, book_id) -> Tokens:
    return identity.exchange_code(consent(sandbox, control, identity, book_id))


@pytest.fixture
def stored() -> list[Tokens]:
    """What the portal's on_tokens callback saved, in order."""
    return []


@pytest.fixture
def closing() -> Iterator[Callable[[T], T]]:
    """Keep a client the test makes and close it when the test ends."""
    made: list[Any] = []

    def keep(client: T) -> T:
        made.append(client)
        return client

    yield keep
    for client in made:
        client.close()


@pytest.fixture
def make_reckon(sandbox, app_creds, identity, stored, closing):
    """A factory: a Reckon API client on the sandbox for the given tokens, saving refreshes."""

    def make(tokens: Tokens) -> ReckonClient:
        return closing(
            ReckonClient(
                tokens,
                subscription_key=app_creds["subscription_key"],
                identity=identity,
                on_tokens=stored.append,
                base_url=f"{sandbox.url}/reckon/r1/v2",
                options=FAST,
            )
        )

    return make


@pytest.fixture
def reckon(make_reckon, tokens):
    return make_reckon(tokens)
