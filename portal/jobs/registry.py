"""Job kinds: a name, a title for people, and the function that does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.models import JobRun

    from .context import RunContext


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str
    run: Callable[[RunContext], None]
    demo_only: bool = False
    default_params: tuple[tuple[str, Any], ...] = ()
    # Waits (seconds) before "retry failed items" starts by itself, one per attempt.
    retry_delays: tuple[float, ...] = ()
    # Called with the finished run: True when new work arrived while it ran (not work it
    # already tried, which would loop; failed items have retry_delays for that).
    more_work: Callable[[JobRun], bool] | None = None


KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    title: str,
    *,
    demo_only: bool = False,
    retry_delays: tuple[float, ...] = (),
    more_work: Callable[[JobRun], bool] | None = None,
    **defaults: Any,
) -> Callable[[Callable[[RunContext], None]], Callable[[RunContext], None]]:
    """Register a function as the body of a job kind."""

    def register(func: Callable[[RunContext], None]) -> Callable[[RunContext], None]:
        KINDS[name] = JobKind(
            name, title, func, demo_only, tuple(defaults.items()), retry_delays, more_work
        )
        return func

    return register


def available_kinds(demo_mode: bool) -> list[JobKind]:
    return [k for k in KINDS.values() if demo_mode or not k.demo_only]


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None
