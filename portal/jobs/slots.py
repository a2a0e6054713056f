"""A per-clinic cap on workers: one clinic's big runs never hold every worker of the pool.

Each clinic has a few slots in Redis (a sorted set of run ids scored by lease expiry). A worker
takes one before it starts a run; when the clinic's slots are full (CLINIC_MAX_RUNS in all,
CLINIC_MAX_BULK_RUNS for scheduled bulk work), the run is parked in the clinic's waiting set,
still queued, and the worker moves on to other clinics' work. A run that ends gives its slot
back and puts the clinic's parked runs at the front of their queues; the scheduler's tick does
the same for every clinic with parked runs, in case a worker died holding a slot (its lease runs
out JOB_STALE_AFTER_SECONDS after its last heartbeat).

Taking a slot and parking are one Lua script, as are releasing and waking, so a run can never
park just after the last holder woke the clinic's waiters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import update

from portal.extensions import db
from portal.models import JobRun, JobStatus

from .queue import Priority, enqueue_run

log = logging.getLogger(__name__)
WAITING_CLINICS = "portal:slots:waiting-clinics"

# KEYS: slots, waiting, waiting-clinics. ARGV: run member, class (i|b), cap, bulk cap, lease,
# clinic id. Returns 1 when the slot is taken, else 0 (the run is parked).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local member, class = ARGV[1], ARGV[2]
local lease = tonumber(ARGV[5])
if redis.call('ZSCORE', KEYS[1], member) then
  redis.call('ZADD', KEYS[1], now + lease, member)
  return 1
end
local held = redis.call('ZRANGE', KEYS[1], 0, -1)
local bulk = 0
for _, m in ipairs(held) do
  if string.sub(m, -2) == ':b' then bulk = bulk + 1 end
end
if #held < tonumber(ARGV[3]) and (class ~= 'b' or bulk < tonumber(ARGV[4])) then
  redis.call('ZADD', KEYS[1], now + lease, member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('PEXPIRE', KEYS[1], math.ceil(lease * 1000) + 60000)
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', now, member)
redis.call('SADD', KEYS[3], ARGV[6])
return 0
"""
# KEYS: slots, waiting, waiting-clinics. ARGV: run member ('' to release nothing), clinic id.
# Returns the parked members, oldest first, and forgets them (their runs are queued again).
_RELEASE = """
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
local waiting = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return waiting
"""
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1
"""


def _slots_key(clinic_id: int) -> str:
    return f"portal:slots:clinic:{clinic_id}"


def _waiting_key(clinic_id: int) -> str:
    return f"portal:slots:clinic:{clinic_id}:waiting"


def _member(run_id: int, priority: Priority) -> str:
    return f"{run_id}:{'b' if priority == Priority.BULK else 'i'}"


@dataclass(frozen=True)
class Parked:
    """A run that waited for its clinic's slot, to be queued again."""

    run_id: int
    priority: Priority

    @classmethod
    def parse(cls, member: bytes | str) -> Parked:
        text = member.decode() if isinstance(member, bytes) else member
        run_id, cls_ = text.rsplit(":", 1)
        return cls(int(run_id), Priority.BULK if cls_ == "b" else Priority.INTERACTIVE)


class ClinicSlot:
    """One run's hold on one of its clinic's slots."""

    def __init__(self, redis: Redis, clinic_id: int, run_id: int, priority: Priority) -> None:
        self.redis, self.clinic_id = redis, clinic_id
        self.member = _member(run_id, priority)
        self.priority = priority
        self.lease = float(current_app.config["JOB_STALE_AFTER_SECONDS"])
        self.held = False

    def take(self) -> bool:
        """Take a slot, or park the run (False). Without Redis the cap cannot be kept: the run
        goes ahead rather than wait for nothing."""
        cfg = current_app.config
        try:
            taken = self.redis.register_script(_TAKE)(
                keys=self._keys(),
                args=[
                    self.member,
                    "b" if self.priority == Priority.BULK else "i",
                    cfg["CLINIC_MAX_RUNS"],
                    cfg["CLINIC_MAX_BULK_RUNS"],
                    self.lease,
                    self.clinic_id,
                ],
            )
        except RedisError:
            log.warning("clinic %s: slot not checked (Redis)", self.clinic_id, exc_info=True)
            return True
        self.held = bool(int(taken))
        return self.held

    def renew(self) -> None:
        """Keep the lease (from the run's heartbeat)."""
        if self.held:
            self.redis.register_script(_RENEW)(
                keys=[_slots_key(self.clinic_id)], args=[self.member, self.lease]
            )

    def release(self) -> list[Parked]:
        """Give the slot back; the clinic's parked runs, to be queued again."""
        member, self.held = (self.member if self.held else ""), False
        return release_clinic(self.redis, self.clinic_id, member)

    def _keys(self) -> list[str]:
        return [_slots_key(self.clinic_id), _waiting_key(self.clinic_id), WAITING_CLINICS]


def release_clinic(redis: Redis, clinic_id: int, member: str = "") -> list[Parked]:
    keys = [_slots_key(clinic_id), _waiting_key(clinic_id), WAITING_CLINICS]
    members: Any = redis.register_script(_RELEASE)(keys=keys, args=[member, clinic_id])
    return [Parked.parse(m) for m in members]


def clinics_waiting(redis: Redis) -> list[int]:
    return sorted(int(c) for c in redis.smembers(WAITING_CLINICS))


def is_parked(redis: Redis, clinic_id: int, run_id: int) -> bool:
    key = _waiting_key(clinic_id)
    return any(redis.zscore(key, _member(run_id, p)) is not None for p in Priority)


def holders(redis: Redis, clinic_id: int) -> int:
    """How many of the clinic's slots are held now (leases not yet run out)."""
    return int(redis.zcount(_slots_key(clinic_id), "(" + str(_now(redis)), "+inf"))


def _now(redis: Redis) -> float:
    seconds, micros = redis.time()
    return float(seconds) + float(micros) / 1_000_000


def note_parked(run: JobRun) -> None:
    """Say why the run still waits. Only while it is queued: a worker the clinic's last run
    woke may already have started it."""
    message = (
        f"Waiting for a worker: this clinic already has its share of workers "
        f"({current_app.config['CLINIC_MAX_RUNS']} runs, "
        f"{current_app.config['CLINIC_MAX_BULK_RUNS']} of them scheduled work); "
        "it starts when one of them ends."
    )
    db.session.execute(
        update(JobRun)
        .where(JobRun.id == run.id, JobRun.status == JobStatus.QUEUED)
        .values(message=message)
    )
    db.session.commit()


def requeue_parked(parked: list[Parked]) -> None:
    """Queue parked runs again at the front of their queues (they were at the front once),
    oldest first."""
    for p in reversed(parked):
        try:
            job_id = enqueue_run(p.run_id, p.priority, at_front=True)
        except RedisError:  # the tick wakes them once Redis is back... if it kept them
            log.warning("run %s: could not be queued again", p.run_id, exc_info=True)
            continue
        db.session.execute(update(JobRun).where(JobRun.id == p.run_id).values(rq_job_id=job_id))
    if parked:
        db.session.commit()


def wake_waiting_clinics(redis: Redis) -> int:
    """For the tick: queue again every parked run (those whose clinic is still full park again
    at once); how many."""
    woken = 0
    for clinic_id in clinics_waiting(redis):
        parked = release_clinic(redis, clinic_id)
        requeue_parked(parked)
        woken += len(parked)
    return woken
