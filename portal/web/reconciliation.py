"""Reconciliation pages: upload an export, map its columns, review the plan, apply, report."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from portal.demo.links import sample_export
from portal.extensions import db, htmx
from portal.forms.jobs import ConfirmForm
from portal.forms.reconciliation import UploadForm, chosen_columns, mapping_form
from portal.models import JobRun
from portal.models.reconciliation import (
    BatchStatus,
    ReconciliationBatch,
    ReconciliationRow,
    RowClass,
)
from portal.services import DomainError
from portal.services.reconciliation.batches import (
    approve_batch,
    batches_query,
    create_batch,
    ids_changed_by_spreadsheet,
    items_to_archive,
    planned_cents,
    report_rows,
    rows_query,
    set_mapping,
    toggle_exclusion,
)
from portal.services.reconciliation.export_reader import FIELDS, REQUIRED, ExportError
from portal.services.reconciliation.review import (
    DECISIONS,
    decide_row,
    out_of_date_reason,
    replan_batch,
)
from portal.services.reconciliation.summary import plan_sentence, plan_summary, voucher_lines
from portal.services.vouchers.browser import vaocherapp_link
from portal.tenancy import Capability, current_clinic, owned_or_404, require, scope_to_clinic

from .confirm import Confirmation, ask, confirmed
from .csv_export import csv_response
from .htmx import done, paginate, see_other
from .runs import start_or_show
from .transaction import failed, failed_page

bp = scope_to_clinic(Blueprint("reconciliation", __name__))

ROWS_PER_PAGE = 50
CLASS_LABELS = {
    RowClass.REDEEM: "Redeem",
    RowClass.DIFFERENCE: "Redeem the difference",
    RowClass.ALREADY: "Already redeemed (skip)",
    RowClass.UNKNOWN: "Unknown code",
    RowClass.VOIDED: "Voided or expired",
    RowClass.AMBIGUOUS: "Ambiguous",
    RowClass.INVALID: "Invalid row",
    RowClass.PENDING: "Not checked yet",
    "excluded": "Excluded by you",
}


def voucher_page_url(code: str) -> str:
    return url_for("vouchers.show", code=code)


@bp.app_template_global("reconciliation_links")
def _links() -> dict[str, object]:
    return {"voucher_page": voucher_page_url, "vaocherapp": vaocherapp_link}


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    limit = current_app.config["RECONCILIATION_MAX_UPLOAD_BYTES"] // (1024 * 1024)
    message = f"The file is larger than {limit} MB. Export a shorter date range."
    if g.get("clinic") is None:  # refused while reading the form, before the clinic was loaded
        return render_template("errors/error.html", code=413, message=message), 413
    flash(message, "error")
    return _index_page(UploadForm(formdata=None)), 413  # the body must not be read again


def _index_page(form: UploadForm) -> str:
    page = paginate(batches_query(current_clinic()), current_app.config["PAGE_SIZE"])
    return render_template("reconciliation/index.html", form=form, page=page)


@bp.get("/")
def index() -> str:
    require(Capability.VIEW)
    return _index_page(UploadForm())


@bp.get("/sample-export.csv")
def sample_export_csv() -> Response:
    """Demo only: the clinic's Invoice items export from the sandbox's Cliniko, to upload here."""
    require(Capability.VIEW)
    if not current_app.config["DEMO_MODE"]:
        abort(404)
    data = sample_export(current_clinic())
    if data is None:
        abort(404, "The demo's Cliniko has no export for this clinic.")
    filename = f"{current_clinic().slug}-InvoiceItems.csv"
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/upload")
def upload() -> str | BaseResponse | tuple[str, int]:
    require(Capability.RUN_JOBS)
    form = UploadForm()
    if not form.validate_on_submit():
        return _index_page(form), 400
    file = form.export.data
    try:
        batch = create_batch(current_clinic(), current_user, file.filename or "", file.stream)
    except (ExportError, DomainError) as error:
        form.export.errors = [*form.export.errors, str(error)]  # shown next to the field
        return failed_page(lambda: (_index_page(form), 400))
    if batch.status == BatchStatus.NEEDS_MAPPING:
        return see_other(url_for("reconciliation.columns", batch_id=batch.id))
    return _start(batch, "reconciliation.plan")


def _start(batch: ReconciliationBatch, kind: str) -> BaseResponse:
    """Start the batch's plan or apply run (which commits the batch with it) and show the batch."""
    page = url_for("reconciliation.show", batch_id=batch.id)
    try:
        return start_or_show(kind, {"batch_id": batch.id}, then=page)
    except DomainError as error:  # the queue is down: the batch is kept, the page says so
        flash(str(error), "error")
        return see_other(page)


@bp.route("/<int:batch_id>/columns", methods=["GET", "POST"])
def columns(batch_id: int) -> str | BaseResponse | tuple[str, int]:
    require(Capability.RUN_JOBS)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    if batch.status not in (BatchStatus.NEEDS_MAPPING, BatchStatus.PLANNED) or batch.apply_run_id:
        abort(409, "The columns of this file can no longer be changed.")
    form = mapping_form(
        batch.headers, batch.mapping, request.form if request.method == "POST" else None
    )
    if request.method == "POST" and form.validate_on_submit():
        try:
            set_mapping(batch, chosen_columns(form))
        except DomainError as error:
            flash(str(error), "error")
        else:
            return _start(batch, "reconciliation.plan")
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "reconciliation/columns.html", batch=batch, form=form, fields=FIELDS, required=REQUIRED
    )
    return page, status


def _status_context(batch: ReconciliationBatch) -> dict[str, object]:
    """What the status region needs: all a poll reads while a run goes on (each second)."""
    plan_run = db.session.get(JobRun, batch.plan_run_id) if batch.plan_run_id else None
    apply_run = db.session.get(JobRun, batch.apply_run_id) if batch.apply_run_id else None
    return {
        "batch": batch,
        "plan_run": plan_run,
        "apply_run": apply_run,
        "live": _is_live(batch, plan_run, apply_run),
    }


def _show_context(batch: ReconciliationBatch) -> dict[str, object]:
    wanted = request.args.get("class", "")
    wanted = wanted if wanted in CLASS_LABELS else ""
    rows_page = paginate(rows_query(batch, wanted, by_voucher=True), ROWS_PER_PAGE)
    summary = plan_summary(batch) if batch.totals else None
    return {
        **_status_context(batch),
        "rows_page": rows_page,
        "lines": voucher_lines(batch, rows_page.items),
        "summary": summary,
        "sentence": plan_sentence(summary) if summary else "",
        "approve": approve_confirmation(batch),
        "replan": replan_confirmation(batch),
        "wanted": wanted,
        "labels": CLASS_LABELS,
        "planned": planned_cents(batch),
        "ids_changed": ids_changed_by_spreadsheet(batch),
        "stale": out_of_date_reason(batch) if batch.can_edit_plan else "",
        "decisions": DECISIONS,
        "to_archive": items_to_archive(batch) if batch.can_edit_plan else 0,
        "confirm_form": ConfirmForm(),
    }


def _is_live(batch: ReconciliationBatch, plan: JobRun | None, apply: JobRun | None) -> bool:
    """Whether a run is going (or about to: the job has not picked the batch up yet)."""
    run = apply if batch.status == BatchStatus.APPLYING else plan
    waiting = batch.status in (BatchStatus.PLANNING, BatchStatus.APPLYING)
    return bool(
        (waiting and (run is None or run.is_live))
        or (plan and plan.is_live)
        or (apply and apply.is_live)
    )


@bp.get("/<int:batch_id>")
def show(batch_id: int) -> str | tuple[str, int]:
    """The batch's page; for htmx's poll, the status region (and, once the run has ended, the
    plan out of band, with 286 so the polling stops)."""
    require(Capability.VIEW)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    if htmx and not htmx.boosted:
        status = _status_context(batch)
        if status["live"]:  # the plan (and whether it is out of date) waits for the run's end
            return render_template("reconciliation/_batch_poll.html", **status), 200
        return render_template("reconciliation/_batch_poll.html", **_show_context(batch)), 286
    return render_template("reconciliation/show.html", **_show_context(batch))


def _plan_again(batch: ReconciliationBatch, notice: str) -> str:
    """After a row action from htmx: the page again (htmx takes its plan), saying what was done."""
    return render_template("reconciliation/show.html", **_show_context(batch), notice=notice)


@bp.post("/<int:batch_id>/rows/<int:row_id>/exclude")
def exclude(batch_id: int, row_id: int) -> str | BaseResponse:
    require(Capability.RUN_JOBS)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    row = owned_or_404(ReconciliationRow, current_clinic(), row_id)
    if row.batch_id != batch.id or not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("reconciliation.show", batch_id=batch.id)
    if request.query_string:
        back = f"{back}?{request.query_string.decode()}"
    excluded = request.form.get("excluded") == "1"
    try:
        toggle_exclusion(batch, row, excluded)
    except DomainError as error:
        return failed(str(error), back)
    if htmx:
        what = "left out of the plan" if excluded else "put back into the plan"
        return _plan_again(batch, f"Row {row.row_number} {what}.")
    return see_other(back)


def approve_confirmation(batch: ReconciliationBatch) -> Confirmation:
    return Confirmation(
        title=f"Apply reconciliation #{batch.id}?",
        body=f"{plan_sentence(plan_summary(batch))} Rows already redeemed are never redeemed "
        "again. This writes to VaocherApp and Cliniko and cannot be undone here.",
        yes="Yes, apply the plan",
        no="No, back to the plan",
        danger=False,
    )


def replan_confirmation(batch: ReconciliationBatch) -> Confirmation:
    return Confirmation(
        title=f"Re-plan reconciliation #{batch.id}?",
        body="The current plan is thrown away, with your exclusions and decisions on its rows, "
        "and the same file is planned again with the same columns against VaocherApp's "
        "balances now. Nothing is redeemed.",
        yes="Yes, re-plan",
        no="No, keep this plan",
        danger=False,
    )


@bp.route("/<int:batch_id>/approve", methods=["GET", "POST"])
def approve(batch_id: int) -> str | tuple[str, int] | BaseResponse:
    require(Capability.RUN_JOBS)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    back = url_for("reconciliation.show", batch_id=batch.id)
    stale = out_of_date_reason(batch) if batch.can_edit_plan else ""
    if stale:
        return failed(f"This plan is out of date — re-plan it: {stale}", back)
    if not batch.can_edit_plan:
        return done("This plan has already been approved.", back, "info")
    if not confirmed():
        return ask(approve_confirmation(batch), back)
    try:
        approve_batch(batch, current_user)
    except DomainError as error:
        return failed(str(error), back)
    return _start(batch, "reconciliation.apply")


@bp.route("/<int:batch_id>/replan", methods=["GET", "POST"])
def replan(batch_id: int) -> tuple[str, int] | BaseResponse:
    require(Capability.RUN_JOBS)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    if not confirmed():
        back = url_for("reconciliation.show", batch_id=batch.id)
        return ask(replan_confirmation(batch), back)
    replan_batch(batch, current_user)
    return _start(batch, "reconciliation.plan")


@bp.post("/<int:batch_id>/rows/<int:row_id>/decide")
def decide(batch_id: int, row_id: int) -> str | BaseResponse:
    require(Capability.RUN_JOBS)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    row = owned_or_404(ReconciliationRow, current_clinic(), row_id)
    if row.batch_id != batch.id or not ConfirmForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision", "")
    decide_row(batch, row, current_user, decision, request.form.get("note", ""))
    message = f"Row {row.row_number}: {DECISIONS[decision].lower()} — recorded."
    if htmx:
        return _plan_again(batch, message)
    back = url_for("reconciliation.show", batch_id=batch.id) + f"#row-{row.id}"
    return done(message, back)


@bp.get("/<int:batch_id>/report.csv")
def report_csv(batch_id: int) -> Response:
    require(Capability.VIEW)
    batch = owned_or_404(ReconciliationBatch, current_clinic(), batch_id)
    # Read here: the header comes first out of report_rows (its rows are the batch's voucher
    # rows only, so this stays small).
    header, *rows = list(report_rows(batch))
    filename = f"{current_clinic().slug}-reconciliation-{batch.id}.csv"
    return csv_response(filename, header, lambda: rows)
