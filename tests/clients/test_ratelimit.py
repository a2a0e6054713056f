"""The sliding-window limiter, driven by a fake clock so no test waits for real time."""

import threading

import pytest

from portal.clients.errors import RateLimited
from portal.clients.ratelimit import (
    RateLimit,
    RateLimiter,
    clear_shared_limiters,
    shared_limiter,
)


class FakeTime:
    """A clock whose sleep just moves time forward, recording each nap."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.naps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def limiter(fake: FakeTime, limit: int = 3, window: float = 10.0) -> RateLimiter:
    return RateLimiter(RateLimit(limit, window), name="Cliniko", clock=fake.clock, sleep=fake.sleep)


def test_requests_within_the_limit_do_not_wait(fake):
    lim = limiter(fake)
    slots = [lim.acquire() for _ in range(3)]
    assert [s.waited for s in slots] == [0, 0, 0]
    assert fake.naps == []


def test_the_next_request_waits_until_the_oldest_leaves_the_window(fake):
    lim = limiter(fake)
    for _ in range(3):
        lim.acquire()
        fake.now += 1
    slot = lim.acquire()
    assert slot.waited == pytest.approx(7.0)
    assert fake.now == pytest.approx(1010.0)


def test_no_window_ever_holds_more_than_the_limit(fake):
    lim = limiter(fake, limit=5, window=2.0)
    stamps = []
    for _ in range(40):
        lim.acquire()
        stamps.append(fake.now)
        fake.now += 0.05
    for t in stamps:
        assert sum(1 for s in stamps if t <= s < t + 2.0) <= 5


def test_finish_restamps_so_slow_responses_hold_their_slot_longer(fake):
    lim = limiter(fake, limit=1, window=10.0)
    slot = lim.acquire()
    fake.now += 4  # the response took four seconds to come back
    lim.finish(slot)
    assert lim.acquire().waited == pytest.approx(10.0)


def test_a_wait_beyond_the_budget_raises_rate_limited_without_sleeping(fake):
    lim = limiter(fake, limit=1, window=60.0)
    lim.acquire()
    with pytest.raises(RateLimited) as info:
        lim.acquire(max_wait=5.0)
    assert info.value.retry_after == pytest.approx(60.0)
    assert "Cliniko" in str(info.value)
    assert fake.naps == []


def test_pause_for_holds_everyone_back(fake):
    lim = limiter(fake, limit=100)
    lim.pause_for(12.5)
    assert lim.acquire().waited == pytest.approx(12.5)


def test_rate_limit_rejects_nonsense():
    with pytest.raises(ValueError, match="limit"):
        RateLimit(0, 60)


def test_shared_limiter_is_one_per_credential_and_rate():
    clear_shared_limiters()
    a = shared_limiter("Cliniko", "key-au1", RateLimit(200, 60))
    assert shared_limiter("Cliniko", "key-au1", RateLimit(200, 60)) is a
    assert shared_limiter("Cliniko", "other-au1", RateLimit(200, 60)) is not a
    assert shared_limiter("Cliniko", "key-au1", RateLimit(20, 1)) is not a
    clear_shared_limiters()


def test_threads_sharing_a_limiter_never_exceed_it():
    """Real clock, tiny window: eight threads hammering it still respect the limit."""
    lim = RateLimiter(RateLimit(10, 0.2))
    stamps: list[float] = []
    guard = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            slot = lim.acquire()
            with guard:
                stamps.append(slot.at)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    for i, t in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < t + 0.2) <= 10
