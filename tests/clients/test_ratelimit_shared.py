"""The rate limiter shared through Redis: one window per credential for every process and host."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
from redis import Redis

from portal.clients.errors import RateLimited
from portal.clients.ratelimit import (
    UNLIMITED,
    RateLimit,
    SharedPause,
    clear_shared_limiters,
    shared_limiter,
)


@pytest.fixture
def store(redis_url):
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _own_connection(redis_url):
    """A second Redis connection and limiter registry: what another process would have."""
    clear_shared_limiters()
    return Redis.from_url(redis_url)


def test_two_processes_worth_of_limiters_share_one_window(store, redis_url):
    rate = RateLimit(5, 0.5)
    first = shared_limiter("Cliniko", "key-1", rate, store)
    second = shared_limiter("Cliniko", "key-1", rate, _own_connection(redis_url))
    assert first is not second
    stamps: list[float] = []
    lock = threading.Lock()

    def work(limiter) -> None:
        for _ in range(10):
            slot = limiter.acquire()
            limiter.finish(slot)
            with lock:
                stamps.append(slot.at)

    threads = [threading.Thread(target=work, args=(lim,)) for lim in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 20
    # In any window of 0.5 s there are at most 5 stamps (Redis server time).
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < start + rate.window) <= rate.limit


def test_another_credential_has_its_own_window(store):
    rate = RateLimit(1, 30)
    shared_limiter("Cliniko", "key-a", rate, store).acquire()
    assert shared_limiter("Cliniko", "key-b", rate, store).acquire(max_wait=0).waited == 0


def test_a_pause_announced_by_the_server_holds_every_process_back(store, redis_url):
    rate = RateLimit(100, 1)
    shared_limiter("Cliniko", "key-1", rate, store).pause_for(0.4)
    other = shared_limiter("Cliniko", "key-1", rate, _own_connection(redis_url))
    with pytest.raises(RateLimited, match="busy"):
        other.acquire(max_wait=0.1)
    assert other.acquire().waited > 0.2


def test_a_service_without_a_published_limit_costs_no_redis_call_per_request(store):
    limiter = shared_limiter("Reckon", "subscription-key", UNLIMITED, store)
    assert isinstance(limiter, SharedPause)

    def pttl_calls() -> int:
        return int(store.info("commandstats").get("cmdstat_pttl", {}).get("calls", 0))

    before = pttl_calls()
    for _ in range(50):
        limiter.finish(limiter.acquire(max_wait=0))
    assert store.keys("*") == []  # nothing counted, nothing stored
    assert pttl_calls() - before <= 1  # the pause is read at most every quarter second


def test_a_pause_on_a_service_without_a_limit_holds_every_process_back(store, redis_url):
    first = SharedPause(store, "portal:ratelimit:test", refresh=0)
    other = SharedPause(Redis.from_url(redis_url), "portal:ratelimit:test", refresh=0)
    assert other.acquire(max_wait=0).waited == 0
    first.pause_for(0.4)
    first.pause_for(0.1)  # a shorter pause announced later does not cut the first short
    with pytest.raises(RateLimited, match="busy"):
        other.acquire(max_wait=0.1)
    assert other.acquire().waited > 0.2
    assert other.acquire(max_wait=0).waited == 0  # over once the server's pause is


def test_no_secret_is_stored_in_redis(store):
    shared_limiter("Cliniko", "MS0xMjM0NTY3ODkw-au1", RateLimit(3, 5), store).acquire()
    keys = [k.decode() for k in store.keys("*")]
    assert keys
    assert all("MS0xMjM0NTY3ODkw" not in key for key in keys)


WORKER = textwrap.dedent(
    """
    import sys
    from redis import Redis
    from portal.clients.cliniko import ClinikoClient
    from portal.clients.ratelimit import RateLimit

    key, url, redis_url, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = ClinikoClient(
        key,
        app_name="Clinic Portal tests",
        contact_email="dev@example.com",
        base_url_template=url,
        rate_limit=RateLimit(10, 2.0),
        rate_store=Redis.from_url(redis_url),
    )
    for _ in range(count):
        client.get_user()
    client.close()
    """
)


def test_two_worker_processes_on_one_key_never_meet_the_servers_limit(
    sandbox, clinic, control, store, redis_url
):
    """Two real processes, one Cliniko key, 10 requests per 2 s: the sandbox, which counts every
    request against that same rule, never has to refuse one."""
    control.post("ratelimits", {"cliniko": {"limit": 10, "window_seconds": 2}})
    args = [clinic["cliniko"]["api_key"], f"{sandbox.url}/cliniko/{{shard}}/v1", redis_url, "15"]
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, *args]) for _ in range(2)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    seen = [r["status"] for r in control.requests("cliniko")]
    assert seen.count(200) == 30
    assert seen.count(429) == 0
