"""What a job kind declares: its body, title, automatic retry and the runs that follow it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portal.models import RetryMode
from portal.services.problems.state import ALL_GROUPS, StateGroup

if TYPE_CHECKING:
    from portal.models import JobRun

    from .context import RunContext


@dataclass(frozen=True)
class FollowUp:
    """A run of `kind` the runner starts once a run ends, when `needed(run)` says so.

    Not started while a run of that kind is live: that run takes the work."""

    kind: str
    needed: Callable[[JobRun], bool]


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str
    run: Callable[[RunContext], None]
    demo_only: bool = False
    default_params: tuple[tuple[str, Any], ...] = ()
    # Waits (seconds) before the automatic retry starts, one per attempt; a callable when the
    # waits come from the app's config. The runner retries when items failed, or when the
    # body asked (`RunContext.retry_wanted`).
    retry_delays: tuple[float, ...] | Callable[[], tuple[float, ...]] = ()
    # What an automatic retry processes: the failed items, or everything not yet done.
    retry_mode: RetryMode = RetryMode.FAILED
    follow_ups: tuple[FollowUp, ...] = ()
    # Someone is waiting for every run of this kind (a webhook's voucher, a preview): it goes on
    # the interactive queue even when no person started it. Other kinds go there only when a
    # person did; scheduled and automatic ones are bulk work.
    interactive: bool = False
    # The problems that are states (vouchers expiring, records needing action…) a run of this
    # kind can change: only those are counted again when it ends (all, unless it says less).
    changes: frozenset[StateGroup] = ALL_GROUPS

    def delays(self) -> tuple[float, ...]:
        return self.retry_delays() if callable(self.retry_delays) else self.retry_delays
