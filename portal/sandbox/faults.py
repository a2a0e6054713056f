"""Opt-in faults per upstream, reproducible from a seed: latency, errors, 429 bursts, hangs,
dropped connections and outages."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

UPSTREAMS = ("cliniko", "vaocherapp", "reckon-identity", "reckon")


class FaultError(ValueError):
    """A fault setting the control plane refuses."""


@dataclass
class FaultConfig:
    """One upstream's knobs; all zero means the documented behaviour."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    burst_429: int = 0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    drop_rate: float = 0.0
    outage: bool = False
    outage_until: datetime | None = None
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "burst_429": self.burst_429,
            "hang_rate": self.hang_rate,
            "hang_seconds": self.hang_seconds,
            "drop_rate": self.drop_rate,
            "outage": self.outage,
            "outage_until": self.outage_until.isoformat() if self.outage_until else None,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Decision:
    """What to do to one request: sleep first, then maybe one fault."""

    latency: float = 0.0
    kind: str | None = None  # "outage" | "drop" | "hang" | "429" | "error"
    status: int = 0
    hang_seconds: float = 0.0


def _rate(body: dict[str, Any], key: str) -> float:
    value = float(body.get(key, 0) or 0)
    if not 0 <= value <= 1:
        raise FaultError(f"{key} must be between 0 and 1")
    return value


def parse_config(body: dict[str, Any], now: datetime) -> FaultConfig:
    """Build a config from the control plane's JSON."""
    try:
        statuses = tuple(int(s) for s in body.get("error_statuses") or (500, 502, 503))
        seed = int(body.get("seed", 0) or 0)
        outage_seconds = body.get("outage_seconds")
        config = FaultConfig(
            latency_ms=int(body.get("latency_ms", 0) or 0),
            error_rate=_rate(body, "error_rate"),
            error_statuses=statuses,
            burst_429=int(body.get("burst_429", 0) or 0),
            hang_rate=_rate(body, "hang_rate"),
            hang_seconds=float(body.get("hang_seconds", 30) or 30),
            drop_rate=_rate(body, "drop_rate"),
            outage=bool(body.get("outage", False)),
            outage_until=now + timedelta(seconds=float(outage_seconds)) if outage_seconds else None,
            seed=seed,
            rng=random.Random(seed),
        )
    except (TypeError, ValueError) as exc:
        raise FaultError(str(exc)) from exc
    return config


class Faults:
    """Per-upstream fault configs; `decide` is called once per upstream request."""

    def __init__(self) -> None:
        self.configs: dict[str, FaultConfig] = {}
        self._lock = threading.Lock()

    def set(self, upstream: str, config: FaultConfig) -> None:
        with self._lock:
            self.configs[upstream] = config

    def clear(self, upstream: str | None = None) -> None:
        with self._lock:
            if upstream is None:
                self.configs.clear()
            else:
                self.configs.pop(upstream, None)

    def decide(self, upstream: str, now: datetime) -> Decision:
        with self._lock:
            c = self.configs.get(upstream)
            if c is None:
                return Decision()
            latency = c.latency_ms / 1000
            # Draw every number every time so a seed replays the same sequence whatever the rates.
            drop, hang, error = c.rng.random(), c.rng.random(), c.rng.random()
            status = c.rng.choice(c.error_statuses) if c.error_statuses else 500
            if c.outage or (c.outage_until is not None and now < c.outage_until):
                return Decision(latency, "outage", 503)
            if drop < c.drop_rate:
                return Decision(latency, "drop")
            if hang < c.hang_rate:
                return Decision(latency, "hang", hang_seconds=c.hang_seconds)
            if c.burst_429 > 0:
                c.burst_429 -= 1
                return Decision(latency, "429", 429)
            if error < c.error_rate:
                return Decision(latency, "error", status)
            return Decision(latency)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {name: config.describe() for name, config in self.configs.items()}
