"""Template globals: the money filter, and navigation only where a page shows it."""

from __future__ import annotations

import pytest

import portal.web.context as context
from portal.web.context import money


@pytest.mark.parametrize(
    ("cents", "shown"),
    [
        (150000, "$1,500.00"),
        (5, "$0.05"),
        (0, "$0.00"),
        (-5000, "-$50.00"),
        (123456789, "$1,234,567.89"),
        (None, ""),
    ],
)
def test_money_shows_cents_as_dollars(cents, shown):
    assert money(cents) == shown


def test_fragments_do_not_query_the_navigation(demo, login, client, post, monkeypatch):
    login("manager@example.com")
    run_url = post("/c/bondi-physio/jobs/start/demo", {"items": 3}).headers["Location"]
    calls = []
    real = context.accessible_clinics
    monkeypatch.setattr(context, "accessible_clinics", lambda user: calls.append(1) or real(user))
    fragment = client.get(f"{run_url}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert calls == []  # the 1-second progress poll
    assert client.get(run_url).status_code == 200
    assert calls == [1]  # the full page has the navigation
