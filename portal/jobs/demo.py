"""A demo job (demo mode only): synthetic items that show the progress machinery at work."""

from __future__ import annotations

import time

from .context import ItemSkipped, RunContext, WorkItem
from .kind import JobKind


def run_demo(ctx: RunContext) -> None:
    count = int(ctx.params.get("items", 40))
    delay = float(ctx.params.get("delay", 0.15))
    items = [
        WorkItem(ref=f"demo-{n:03d}", label=f"Synthetic item {n}") for n in range(1, count + 1)
    ]

    def handle(item: WorkItem) -> str:
        time.sleep(delay)
        number = int(item.ref.rsplit("-", 1)[1])
        if number % 7 == 0:
            raise ItemSkipped("Already done in an earlier run (every 7th item, by design).")
        if number % 11 == 0 and not ctx.is_retry:
            # Fails the first time only, so "retry failed items" visibly finishes the job.
            raise RuntimeError("Synthetic upstream error (every 11th item fails on the first try).")
        return "Processed."

    ctx.process(items, handle)


DEMO_KIND = JobKind(
    "demo",
    "Demo job",
    run_demo,
    demo_only=True,
    default_params=(("items", 40), ("delay", 0.15)),
    interactive=True,
    changes=frozenset(),
)
