"""Retries, timeouts, dropped connections and rate limits, proven with the sandbox's fault knobs."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from portal.clients.cliniko import ClinikoClient
from portal.clients.errors import OutcomeUnknown, RateLimited, Unavailable
from portal.clients.ratelimit import RateLimit
from tests.clients.conftest import FAST


@pytest.fixture
def make_client(sandbox, clinic, closing):
    def make(**kw) -> ClinikoClient:
        client = ClinikoClient(
            clinic["cliniko"]["api_key"],
            app_name="Clinic Portal tests",
            contact_email="dev@example.com",
            base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
            **{"options": FAST, **kw},
        )
        return closing(client)

    return make


def statuses(control, method: str = "GET") -> list[int]:
    return [r["status"] for r in control.requests("cliniko") if r["method"] == method]


def test_server_errors_are_retried_until_success(make_client, control):
    control.faults("cliniko", error_rate=0.5, error_statuses=[500, 503])
    client = make_client(options=replace(FAST, retries=6))
    for _ in range(6):
        assert client.get_user().id
    seen = statuses(control)
    assert {500, 503} & set(seen), "the seeded faults should have produced some 5xx"
    assert seen.count(200) == 6


def test_an_outage_ends_in_unavailable_after_the_retry_budget(make_client, control):
    control.faults("cliniko", outage=True)
    with pytest.raises(Unavailable) as info:
        make_client().get_user()
    assert info.value.status == 503
    assert statuses(control) == [503] * (FAST.retries + 1)


def test_a_hanging_server_times_out_and_is_retried(make_client, control):
    control.faults("cliniko", hang_rate=0.5, hang_seconds=0.5)
    client = make_client(options=replace(FAST, read_timeout=0.2, retries=6))
    for _ in range(2):
        assert client.get_settings().subdomain
    time.sleep(0.6)  # hung requests are logged when they finish; don't leak into the next test
    faults = [r.get("fault") for r in control.requests("cliniko")]
    assert "hang" in faults


def test_dropped_connections_are_retried_for_reads(make_client, control):
    control.faults("cliniko", drop_rate=0.5)
    client = make_client(options=replace(FAST, retries=6))
    for _ in range(4):
        assert client.get_user().id
    assert 0 in statuses(control)  # the log marks a dropped connection as status 0


def test_a_timeout_on_create_is_outcome_unknown_and_never_repeated(make_client, control):
    control.faults("cliniko", hang_rate=1.0, hang_seconds=0.6)
    client = make_client(options=replace(FAST, read_timeout=0.2))
    with pytest.raises(OutcomeUnknown) as info:
        client.create_patient("Grace", "Hopper")
    assert "can't tell whether" in str(info.value)
    time.sleep(0.7)  # the hung request is logged (and takes effect) only when it finishes
    assert len(statuses(control, "POST")) == 1


def test_a_server_error_on_create_is_outcome_unknown_and_never_repeated(make_client, control):
    control.faults("cliniko", error_rate=1.0, error_statuses=[502])
    with pytest.raises(OutcomeUnknown):
        make_client().create_patient("Grace", "Hopper")
    assert statuses(control, "POST") == [502]


def test_archive_is_idempotent_so_it_is_retried(make_client, control):
    client = make_client(options=replace(FAST, retries=6))
    item = client.create_billable_item("Voucher V-9", "V-9", "Other", price=-10)
    control.faults("cliniko", error_rate=0.6, error_statuses=[503])
    client.archive_billable_item(item.id)
    archives = [r for r in control.requests("cliniko") if r["path"].endswith("/archive")]
    assert archives[-1]["status"] == 204


def test_429_bursts_wait_for_x_ratelimit_reset(make_client, control):
    control.faults("cliniko", burst_429=2)
    client = make_client(rate_limit=None, options=replace(FAST, max_wait=5))
    assert client.get_user().id
    assert statuses(control) == [429, 429, 200]


def test_x_ratelimit_reset_is_honoured_when_the_server_limit_is_hit(make_client, control):
    """Without a client-side limit, the client must sleep until the reset, not hammer."""
    control.post("ratelimits", {"cliniko": {"limit": 5, "window_seconds": 1}})
    client = make_client(rate_limit=None, options=replace(FAST, max_wait=5))
    for _ in range(8):
        assert client.get_user().id
    seen = statuses(control)
    assert seen.count(200) == 8
    # Short backoffs alone (20-200 ms, 3 retries) could never outlast a one-second window.
    assert 1 <= seen.count(429) <= 3


def test_the_total_wait_is_capped(make_client, control):
    control.post("ratelimits", {"cliniko": {"limit": 1, "window_seconds": 30}})
    client = make_client(rate_limit=None, options=replace(FAST, max_wait=1.0))
    client.get_user()
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        client.get_user()
    assert time.monotonic() - started < 2
    assert info.value.retry_after is not None
    assert info.value.retry_after > 20


def test_client_side_limit_keeps_many_clients_under_the_server_limit(make_client, control):
    """Three clients on one key in three threads share one window: the server never says 429."""
    control.post("ratelimits", {"cliniko": {"limit": 10, "window_seconds": 1}})
    clients = [make_client(rate_limit=RateLimit(10, 1.0)) for _ in range(3)]
    errors: list[BaseException] = []

    def work(client: ClinikoClient) -> None:
        try:
            for _ in range(8):
                client.get_user()
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seen = statuses(control)
    assert seen == [200] * 24
    assert time.monotonic() - started >= 2.0  # 24 requests at 10 per second
