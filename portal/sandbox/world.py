"""All sandbox state in one object, rebuilt from a seed so every run starts the same."""

from __future__ import annotations

import threading

from .clock import Clock


class World:
    """Holds the clock and each upstream's store; `reset` re-seeds everything."""

    def __init__(self, seed: int = 1, scale: int = 1) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.reset(seed=seed, scale=scale)

    def reset(self, seed: int = 1, scale: int = 1) -> None:
        with self.lock:
            self.seed = seed
            self.scale = scale
            self.clock.reset()
