"""All sandbox state in one object, rebuilt from a seed so every run starts the same."""

from __future__ import annotations

import random
import string
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clinics import CLINICS, ClinicSpec, agency_clinics
from .cliniko.seed import seed_cliniko
from .cliniko.store import ClinikoAccount
from .clock import Clock
from .core import IdSequence
from .faults import Faults
from .ratelimit import RateLimiter
from .reckon.world import ReckonWorld
from .requestlog import RequestLog
from .story import voucher_stories
from .vaocherapp.seed import seed_vaocherapp
from .vaocherapp.store import VaocherAccount, new_uuid

KEY_CHARS = string.ascii_letters + string.digits


@dataclass
class Clinic:
    """One clinic across the three systems."""

    spec: ClinicSpec
    cliniko: ClinikoAccount
    vaocherapp: VaocherAccount


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(KEY_CHARS) for _ in range(length))


def _build_clinic(index: int, spec: ClinicSpec, seed: int, scale: int, anchor: datetime) -> Clinic:
    rng = random.Random(f"{seed}:{spec.name}")
    cliniko = ClinikoAccount(
        clinic=spec,
        api_key=f"MS0x{_token(rng, 40)}-{spec.shard}",
        account_id=str(rng.randint(10**5, 10**6)),
        ids=IdSequence(10**17 * (index + 2) + rng.randrange(10**15)),
    )
    vaocher = VaocherAccount(
        id=new_uuid(rng),
        name=spec.name,
        api_key=f"va_{_token(rng, 48)}",
        webhook_secret=f"whsec_{_token(rng, 32)}",
    )
    stories = voucher_stories(rng, anchor, scale)
    seed_vaocherapp(vaocher, rng, stories, voucher_stories(rng, anchor, 1)[:3])
    seed_cliniko(cliniko, rng, anchor, stories, scale)
    cliniko.user_id = next(iter(cliniko.table("users"))).get("id", "")
    return Clinic(spec, cliniko, vaocher)


class World:
    """Holds the clock and each upstream's store; `reset` re-seeds everything."""

    def __init__(self, seed: int = 1, scale: int = 1, extra_clinics: int = 0) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.deliveries_lock = threading.Lock()
        self.extra_clinics = extra_clinics  # an agency's worth more, for benchmarks
        self.reset(seed=seed, scale=scale)

    def reset(self, seed: int = 1, scale: int = 1) -> None:
        """Re-seed all data and clear faults, rate-limit overrides, logs and webhooks."""
        specs = CLINICS + agency_clinics(self.extra_clinics)
        with self.lock:
            self.seed, self.scale = seed, scale
            self.clock.reset()
            # Seed times hang off midnight UTC, so a day's runs see identical data.
            anchor = self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
            self.clinics = [_build_clinic(i, s, seed, scale, anchor) for i, s in enumerate(specs)]
            self.cliniko_by_key = {c.cliniko.api_key: c.cliniko for c in self.clinics}
            self.vaocherapp_by_key = {c.vaocherapp.api_key: c.vaocherapp for c in self.clinics}
            self.faults = Faults()
            self.ratelimits = RateLimiter()
            self.requests = RequestLog()
            self.webhook_deliveries: list[dict[str, Any]] = []
            self.reckon = ReckonWorld(seed, [c.spec.name for c in self.clinics], self.clock)
