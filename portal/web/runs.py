"""Starting a run from a view: start it and show it, or show the one already going."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.jobs.runs import RunAlreadyActive
from portal.jobs.start import retry_run, start_run
from portal.models import JobRun, RetryMode
from portal.tenancy import current_clinic

from .htmx import see_other


def start_or_show(
    kind: str, params: Mapping[str, Any] | None = None, *, then: str | None = None
) -> Response:
    """Start a run of `kind` in this clinic and show its progress (or the page `then`); when one
    is already going, say so and show that one. Any other refusal (the queue is down) is a
    DomainError for the transaction plumbing to report."""
    return _show(lambda: start_run(current_clinic(), current_user, kind, params), then)


def retry_or_show(run: JobRun, mode: RetryMode) -> Response:
    """Retry `run`'s failed or unfinished items in a new run, as `start_or_show` does."""
    return _show(lambda: retry_run(run, current_user, mode), None)


def _show(start: Callable[[], JobRun], then: str | None) -> Response:
    try:
        run = start()  # commits the new run itself, so the worker can see it
    except RunAlreadyActive as busy:
        flash(str(busy), "info")
        run = busy.run
    return see_other(then or url_for("jobs.show", run_id=run.id))
