"""A clinic's background jobs: the run history, one run's live progress, cancel and retry."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from portal.extensions import db, htmx
from portal.forms.jobs import ConfirmForm, DemoJobForm, RunFilterForm
from portal.jobs.kinds import KINDS, available_kinds
from portal.jobs.runs import (
    RunFilters,
    Tally,
    cancel_run,
    item_tally,
    items_query,
    queue_note,
    runs_query,
)
from portal.models import (
    AccountingPreview,
    ItemOutcome,
    JobItem,
    JobRun,
    JobStatus,
    MismatchReport,
    RetryMode,
)
from portal.models.types import utcnow
from portal.services import DomainError
from portal.tenancy import (
    Capability,
    current_clinic,
    owned,
    owned_or_404,
    require,
    scope_to_clinic,
)

from .confirm import Confirmation, ask, confirmed
from .csv_export import csv_response
from .htmx import done, page_or_fragment, paginate
from .runs import retry_or_show, start_or_show
from .transaction import failed
from .words import state_label

bp = scope_to_clinic(Blueprint("jobs", __name__))

ITEMS_PER_PAGE = 50


def _filter_form() -> RunFilterForm:
    form = RunFilterForm(request.args)
    form.status.choices = [SelectChoice("", "Any status")] + [
        SelectChoice(s, state_label(s, "run")) for s in JobStatus
    ]
    form.kind.choices = [SelectChoice("", "Any kind")] + [
        SelectChoice(k.name, k.title) for k in KINDS.values()
    ]
    return form


@bp.get("/")
def index() -> str:
    require(Capability.VIEW)
    form = _filter_form()
    form.validate()
    filters = RunFilters(
        status=form.status.data or "",
        kind=form.kind.data or "",
        date_from=None if form.date_from.errors else form.date_from.data,
        date_to=None if form.date_to.errors else form.date_to.data,
    )
    page = paginate(runs_query(current_clinic(), filters), current_app.config["PAGE_SIZE"])
    kinds = available_kinds(current_app.config["DEMO_MODE"])
    return page_or_fragment(
        "jobs/index.html",
        "jobs/_table.html",
        page=page,
        form=form,
        startable=kinds,
        demo_form=DemoJobForm(),
    )


@bp.post("/start/<kind>")
def start(kind: str) -> BaseResponse:
    require(Capability.RUN_JOBS)
    if kind not in {k.name for k in available_kinds(current_app.config["DEMO_MODE"])}:
        abort(404)
    form = DemoJobForm()
    if not form.validate_on_submit():
        return done("Choose between 1 and 2000 items.", url_for("jobs.index"), "error")
    return start_or_show(kind, {"items": form.items.data})


@bp.get("/<int:run_id>")
def show(run_id: int) -> str:
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    return render_template("jobs/show.html", **_run_context(run))


@bp.get("/<int:run_id>/progress")
def progress(run_id: int) -> str | tuple[str, int]:
    """The 1-second poll: the bar, counters and status text, plus the items recorded since the
    page's newest (`since`). When the run has ended: the buttons and the whole item list once
    more (on "Failed" when anything failed), and 286, which stops htmx polling."""
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    if not htmx or htmx.boosted:
        return render_template("jobs/show.html", **_run_context(run))
    context = _run_context(run)
    since = request.args.get("since", 0, type=int) or 0
    context["new_items"] = _new_items(run, context, since)
    context["list_was_empty"] = request.args.get("empty") == "1"
    page = render_template("jobs/_poll.html", **context)
    return (page, 200) if run.is_live else (page, 286)


@bp.get("/<int:run_id>/items")
def items(run_id: int) -> str:
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    return page_or_fragment("jobs/show.html", "jobs/_items.html", **_run_context(run))


def _outcome(run: JobRun, tally: Tally) -> tuple[str, str]:
    """(the outcome to list, what the page asked for): a finished run opens on "Failed" when
    anything failed, unless a tab was chosen ("all" is the All tab)."""
    asked = request.args.get("outcome", "")
    asked = asked if asked in set(ItemOutcome) or asked == "all" else ""
    if asked == "all":
        return "", asked
    if not asked and not run.is_live and tally.of(ItemOutcome.FAILED):
        return ItemOutcome.FAILED, asked
    return asked, asked


def _run_context(run: JobRun) -> dict[str, object]:
    tally = item_tally(run)  # read first: the items shown stop at its newest
    outcome, asked = _outcome(run, tally)
    shown = items_query(run, outcome).where(JobItem.id <= tally.last_id)
    return {
        "run": run,
        "tally": tally,
        "percent": _percent(run, tally),
        "items_page": paginate(shown, ITEMS_PER_PAGE),
        "outcome": outcome,
        "asked": asked,
        "outcomes": list(ItemOutcome),
        "confirm_form": ConfirmForm(),
        "cancel": cancel_confirmation(run),
        "started_by": started_by(run),
        "products": run_products(run),
        "now": utcnow(),
        "queue_note": queue_note(run),
    }


def _percent(run: JobRun, tally: Tally) -> int:
    if run.status == JobStatus.SUCCEEDED:
        return 100
    return min(100, int(tally.processed * 100 / run.total)) if run.total else 0


def _new_items(run: JobRun, context: dict[str, object], since: int) -> list[JobItem]:
    """Items recorded after `since` for the list on screen (its first page only), newest first."""
    tally = context["tally"]
    assert isinstance(tally, Tally)
    if not since or request.args.get("page", 1, type=int) != 1:
        return []
    stmt = items_query(run, str(context["outcome"])).where(
        JobItem.id > since, JobItem.id <= tally.last_id
    )
    return list(db.session.scalars(stmt.limit(ITEMS_PER_PAGE)))


def cancel_confirmation(run: JobRun) -> Confirmation:
    return Confirmation(
        title=f"Cancel run #{run.id}?",
        body=f"“{run.title}” stops after the item it is working on. Items already done stay "
        "done, and you can finish the rest later with “Retry: finish the unfinished items”.",
        yes="Yes, cancel the run",
        no="No, keep it running",
    )


@bp.app_template_global("run_started_by")
def started_by(run: JobRun) -> str:
    """Who or what started a run, in words: a person, the schedule, a webhook, a retry."""
    if run.user is not None:
        return run.user.name
    if run.parent_id is not None:
        return "an automatic retry"
    return {
        "vouchers.intake": "VaocherApp's webhook",
        "vouchers.provision": "the portal, after VaocherApp's webhook",
        "accounting.sync": "the schedule",
        "accounting.report": "the schedule",
        "connections.check": "the scheduled connection check",
    }.get(run.kind, "the portal")


def _link(label: str, url: str | None) -> list[tuple[str, str]]:
    """One product link, or none when the run made nothing to open."""
    return [(label, url)] if url else []


def run_products(run: JobRun) -> list[tuple[str, str]]:
    """Links to what the run made or worked on: the plan, the report, the synced records."""
    clinic, params = current_clinic(), run.params or {}
    if run.kind in ("reconciliation.plan", "reconciliation.apply") and params.get("batch_id"):
        label = "Open the plan" if run.kind == "reconciliation.plan" else "Open the plan and report"
        batch = url_for("reconciliation.show", batch_id=params["batch_id"])
        return [(label, batch)]
    if run.kind == "accounting.report":
        report = db.session.scalar(
            owned(MismatchReport, clinic).where(MismatchReport.run_id == run.id)
        )
        return _link(
            "Open the mismatch report", report and url_for("accounting.report", report_id=report.id)
        )
    if run.kind == "accounting.preview":
        found = db.session.scalar(
            owned(AccountingPreview, clinic).where(AccountingPreview.run_id == run.id)
        )
        return _link(
            "Open the preview", found and url_for("accounting.preview", preview_id=found.id)
        )
    if run.kind == "accounting.sync":
        return [("See the synced records", url_for("accounting.index") + "#sync-records")]
    if run.kind.startswith("vouchers."):
        codes = params.get("codes") or []
        if len(codes) == 1:
            return [(f"Open voucher {codes[0]}", url_for("vouchers.show", code=codes[0]))]
        return [("Open the vouchers", url_for("vouchers.index"))]
    if run.kind == "connections.check":
        return [("Open the connections", url_for("connections.index"))]
    return []


@bp.get("/<int:run_id>/items.csv")
def items_csv(run_id: int) -> Response:
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    query = items_query(run, request.args.get("outcome", ""))

    def rows() -> Iterator[tuple[str, ...]]:
        for i in db.session.scalars(query):
            yield (i.ref, i.label, i.outcome, i.message, i.created_at.isoformat())

    filename = f"{current_clinic().slug}-run-{run.id}-items.csv"
    return csv_response(filename, ["item", "label", "outcome", "message", "recorded_at"], rows)


@bp.route("/<int:run_id>/cancel", methods=["GET", "POST"])
def cancel(run_id: int) -> str | tuple[str, int] | BaseResponse:
    require(Capability.RUN_JOBS)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    back = url_for("jobs.show", run_id=run.id)
    if not run.is_live:
        return done("This run has already finished.", back, "info")
    if not confirmed():
        return ask(cancel_confirmation(run), back)
    try:
        cancel_run(run, current_user)
    except DomainError as error:
        return failed(str(error), back)
    return done("Cancel requested: the run stops after its current item.", back, "info")


@bp.post("/<int:run_id>/retry")
def retry(run_id: int) -> BaseResponse:
    require(Capability.RUN_JOBS)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    mode = RetryMode.FAILED if request.form.get("mode") == "failed" else RetryMode.UNFINISHED
    return retry_or_show(run, mode)
