"""Reckon token refresh, rotation through on_tokens, reconnect errors, and Retry-After."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.clients.errors import AuthError, Unavailable
from portal.clients.reckon_identity import Tokens


def api_statuses(control) -> list[int]:
    return [r["status"] for r in control.requests("reckon")]


def refresh_posts(control) -> list[int]:
    """Token-endpoint statuses after the fixture's code exchange."""
    posts = [r for r in control.requests("reckon-identity") if r["path"].endswith("/token")]
    return [r["status"] for r in posts[1:]]


def test_a_revoked_access_token_is_refreshed_once_and_the_rotation_stored(
    reckon, control, tokens, stored, identity
):
    control.post("reckon/revoke", {"access_token": tokens.access_token})
    assert reckon.list_books()
    assert api_statuses(control) == [401, 200]
    assert len(stored) == 1
    assert stored[0].refresh_token != tokens.refresh_token
    assert reckon.tokens is stored[0]
    with pytest.raises(AuthError, match="reconnect"):
        identity.refresh(tokens.refresh_token)  # rotated: the old one is dead


def test_an_expiring_token_is_refreshed_before_the_call(make_reckon, tokens, stored, control):
    soon = replace(tokens, expires_at=datetime.now(UTC) + timedelta(seconds=5))
    client = make_reckon(soon)
    client.list_books()
    assert api_statuses(control) == [200]  # no 401 round trip
    assert len(stored) == 1


def test_many_threads_share_one_refresh(make_reckon, tokens, stored, control):
    expired = replace(tokens, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    client = make_reckon(expired)
    threads = [threading.Thread(target=client.list_books) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stored) == 1
    assert refresh_posts(control) == [200]
    assert api_statuses(control) == [200] * 6


def test_a_refused_refresh_means_reconnect(reckon, control, stored):
    control.post("reckon/revoke", {})
    with pytest.raises(AuthError, match="reconnect") as info:
        reckon.list_books()
    assert "Bearer" not in str(info.value)
    assert stored == []


def test_an_unreachable_identity_server_is_unavailable_not_reconnect(reckon, control, tokens):
    control.post("reckon/revoke", {"access_token": tokens.access_token})
    control.faults("reckon-identity", error_rate=1.0, error_statuses=[503])
    with pytest.raises(Unavailable):
        reckon.list_books()
    assert refresh_posts(control) == [503]  # a rotating refresh is never blindly repeated


def test_retry_after_from_the_gateway_is_honoured(reckon, control):
    control.post("ratelimits", {"reckon": {"limit": 3, "window_seconds": 1}})
    for _ in range(5):
        assert reckon.list_books()
    seen = api_statuses(control)
    assert seen.count(200) == 5
    assert 1 <= seen.count(429) <= 2


def test_server_errors_on_reads_are_retried(reckon, control, book_id):
    control.faults("reckon", error_rate=0.5, error_statuses=[500, 502])
    for _ in range(3):
        assert reckon.list_payment_methods(book_id)
    assert {500, 502} & set(api_statuses(control))


def test_merge_patch_is_sent_as_such(reckon, control, book_id):
    customer = reckon.create_customer(book_id, "Patch Test")
    reckon.update_customer(book_id, customer, notes="hello")
    patches = [r for r in control.requests("reckon") if r["method"] == "PATCH"]
    assert [p["status"] for p in patches] == [204]


def test_tokens_from_the_control_plane_work_without_refresh(make_reckon, book_id, control):
    access = control.post("reckon/token", {"book_id": book_id})["access_token"]
    bare = Tokens(access, "", datetime.now(UTC) + timedelta(hours=1))
    client = make_reckon(bare)
    assert book_id in [b.id for b in client.list_books()]
