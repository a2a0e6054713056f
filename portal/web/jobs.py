"""A clinic's background jobs: the run history, one run's live progress, cancel and retry."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from portal.extensions import db
from portal.forms.jobs import ConfirmForm, DemoJobForm, RunFilterForm
from portal.jobs.kinds import KINDS, available_kinds
from portal.jobs.runs import (
    RunFilters,
    cancel_run,
    items_query,
    queue_note,
    runs_query,
)
from portal.models import ItemOutcome, JobRun, JobStatus, RetryMode
from portal.services import DomainError
from portal.tenancy import Capability, current_clinic, owned_or_404, require, scope_to_clinic

from .csv_export import csv_response
from .htmx import done, page_or_fragment, paginate
from .runs import retry_or_show, start_or_show
from .transaction import failed

bp = scope_to_clinic(Blueprint("jobs", __name__))

ITEMS_PER_PAGE = 50


def _filter_form() -> RunFilterForm:
    form = RunFilterForm(request.args)
    form.status.choices = [SelectChoice("", "Any status")] + [
        SelectChoice(s, s.capitalize()) for s in JobStatus
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
    return render_template("jobs/show.html", run=run, **_items_context(run))


@bp.get("/<int:run_id>/progress")
def progress(run_id: int) -> str:
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    return page_or_fragment("jobs/show.html", "jobs/_progress.html", run=run, **_items_context(run))


@bp.get("/<int:run_id>/items")
def items(run_id: int) -> str:
    require(Capability.VIEW)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    return page_or_fragment("jobs/show.html", "jobs/_items.html", run=run, **_items_context(run))


def _items_context(run: JobRun) -> dict[str, object]:
    outcome = request.args.get("outcome", "")
    outcome = outcome if outcome in set(ItemOutcome) else ""
    return {
        "items_page": paginate(items_query(run, outcome), ITEMS_PER_PAGE),
        "outcome": outcome,
        "outcomes": list(ItemOutcome),
        "confirm_form": ConfirmForm(),
        "queue_note": queue_note(run),
    }


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
def cancel(run_id: int) -> str | BaseResponse:
    require(Capability.RUN_JOBS)
    run = owned_or_404(JobRun, current_clinic(), run_id)
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("jobs/confirm_cancel.html", run=run, form=form)
    back = url_for("jobs.show", run_id=run.id)
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
