"""Accounting: mapping settings, schedules, starting syncs and reports, the mismatch report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from portal.extensions import db
from portal.forms.accounting import (
    ReportForm,
    ScheduleForm,
    SettingsForm,
    SyncForm,
    TimeZoneForm,
)
from portal.models import (
    AccountingPreview,
    MismatchLine,
    MismatchReport,
    Provider,
    SyncRecord,
    SyncState,
)
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.accounting.customers import decide_customer, decisions
from portal.services.accounting.links import invoice_links
from portal.services.accounting.preview import approve_preview, described, latest_preview
from portal.services.accounting.schedule import KINDS, save_schedule, schedules_of
from portal.services.accounting.setup import (
    BookOptions,
    book_options,
    first_sync_approved,
    parse_overrides,
    save_settings,
    set_clinic_timezone,
    settings_to_show,
)
from portal.services.accounting.vouchers import details_of, latest_liability
from portal.services.connections.records import connection_or_none
from portal.tenancy import Capability, current_clinic, owned, owned_or_404, require, scope_to_clinic

from .confirm import Confirmation, ask, confirmed
from .csv_export import csv_response
from .htmx import done, paginate
from .runs import start_or_show
from .transaction import failed_page, form_again

bp = scope_to_clinic(Blueprint("accounting", __name__))
LINES_PER_PAGE = 100
FIELDS = (
    *("tax_service", "tax_product", "tax_voucher", "account_service", "account_product"),
    *("account_voucher", "clearing_account", "payment_method", "customer_naming", "sync_from"),
    *("voucher_clearing_account", "bad_debt_account", "breakage_account", "customer_scope"),
    "payment_terms",
)
FLAGS = (
    *("sync_items", "sync_customers", "sync_invoices", "sync_payments", "sync_vouchers"),
    "breakage",
)
ACCOUNT_CHOICES = (
    *("account_service", "account_product", "account_voucher", "clearing_account"),
    *("voucher_clearing_account", "bad_debt_account", "breakage_account"),
)


def _schedule_forms() -> list[ScheduleForm]:
    forms = []
    for kind, row in schedules_of(current_clinic()).items():
        form = ScheduleForm(formdata=None, prefix=kind.replace(".", "-"), obj=row, kind=kind)
        form.kind.data = kind
        form.enabled.data = bool(row and row.enabled)  # the box shows the schedule's real state
        if not form.can_keep_in_sync():  # only the sync runs every few minutes
            form.frequency.choices = form.frequency.choices[:2]
        forms.append(form)
    return forms


@bp.get("/")
def index() -> str:
    require(Capability.VIEW)
    return _index_page()


def _index_page(**forms: Any) -> str:
    """The accounting page; `forms` are forms posted back with their errors (shown by them)."""
    clinic = current_clinic()
    counts = db.session.execute(  # a table on the page: in kind then state order everywhere
        select(SyncRecord.kind, SyncRecord.state, func.count())
        .where(SyncRecord.clinic_id == clinic.id)
        .group_by(SyncRecord.kind, SyncRecord.state)
        .order_by(SyncRecord.kind, SyncRecord.state)
    ).all()
    attention = db.session.scalars(
        owned(SyncRecord, clinic)
        .where(SyncRecord.state.in_((SyncState.NEEDS_ACTION, SyncState.FAILED, SyncState.PENDING)))
        .order_by(SyncRecord.updated_at.desc(), SyncRecord.id.desc())
        .limit(50)
    )
    reports = db.session.scalars(
        owned(MismatchReport, clinic).order_by(MismatchReport.id.desc()).limit(10)
    )
    today = utcnow().astimezone(ZoneInfo(clinic.timezone)).date()
    settings = settings_to_show(clinic)
    schedule_forms = _schedule_forms()
    if "schedule_form" in forms:
        posted = forms.pop("schedule_form")
        schedule_forms = [posted if f.kind.data == posted.kind.data else f for f in schedule_forms]
    context = {
        "settings": settings,
        "configured": settings.id is not None,
        "book_name": _book_name(settings.book_id),
        "approved": first_sync_approved(settings),
        "preview": latest_preview(clinic),
        "decisions": decisions(clinic),
        "liability": latest_liability(clinic),
        "liability_lines": details_of(latest_liability(clinic)),
        "counts": counts,
        "attention": list(attention),
        "reports": list(reports),
        "schedules": schedules_of(clinic),
        "schedule_forms": schedule_forms,
        "sync_form": SyncForm(),
        "report_form": ReportForm(formdata=None, start=today - timedelta(days=90), end=today),
        "kinds": KINDS,
    }
    return render_template("accounting/index.html", **(context | forms))


def _book_name(book_id: str) -> str:
    """The Reckon book by its name (the connection remembers it), never by its id."""
    conn = connection_or_none(current_clinic(), Provider.RECKON)
    if conn is not None and conn.detail("book_id") == book_id and conn.detail("book_name"):
        return str(conn.detail("book_name"))
    return "the book chosen on the Connections page" if book_id else ""


@bp.get("/schedule")
def schedule_panel() -> str:
    """The next and last scheduled runs (the clinic page loads this fragment)."""
    require(Capability.VIEW)
    return render_template(
        "accounting/_schedule.html", schedules=schedules_of(current_clinic()), kinds=KINDS
    )


def _fill(form: SettingsForm, options: BookOptions) -> None:
    for name in ("tax_service", "tax_product", "tax_voucher"):
        getattr(form, name).choices = [SelectChoice(c, c) for c in options.tax_codes]
    for name in ACCOUNT_CHOICES:
        getattr(form, name).choices = [SelectChoice(a, a) for a in options.accounts]
    form.payment_method.choices = [SelectChoice(p, p) for p in options.methods]
    form.payment_terms.choices = [SelectChoice("", "The customer's or the book's own terms")]
    form.payment_terms.choices += [SelectChoice(t, t) for t in options.terms]


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Any:
    require(Capability.MANAGE_CONNECTIONS)
    clinic = current_clinic()
    row = settings_to_show(clinic)
    try:
        options = book_options(clinic)  # a failure keeps the connection's health on record
    except DomainError as exc:
        return render_template("accounting/settings.html", form=None, error=str(exc), book_name="")
    form = SettingsForm(obj=row)
    _fill(form, options)
    if request.method == "GET":
        form.tax_overrides.data = "\n".join(f"{k} = {v}" for k, v in row.tax_overrides.items())
    elif form.validate_on_submit():
        try:
            values = {name: getattr(form, name).data for name in FIELDS + FLAGS}
            values["tax_overrides"] = parse_overrides(form.tax_overrides.data or "")
            save_settings(clinic, current_user, values, options)
        except DomainError as exc:
            page = "accounting/settings.html"
            return form_again(
                str(exc),
                page,
                form=form,
                book=options,
                error=None,
                zone_form=_zone_form(),
                book_name=_book_name(options.book_id),
            )
        return done("Accounting settings saved.", url_for("accounting.index"))
    return render_template(
        "accounting/settings.html",
        form=form,
        book=options,
        error=None,
        zone_form=_zone_form(),
        book_name=_book_name(options.book_id),
    )


def _zone_form() -> TimeZoneForm:
    return TimeZoneForm(timezone=current_clinic().timezone)


@bp.post("/timezone")
def timezone() -> BaseResponse:
    """The clinic's time zone (read from Cliniko when linking), used for every accounting date."""
    require(Capability.MANAGE_CONNECTIONS)
    form = TimeZoneForm()
    back = url_for("accounting.settings")
    if not form.validate_on_submit():
        return done("Choose a time zone such as Australia/Perth.", back, "error")
    set_clinic_timezone(current_clinic(), current_user, form.timezone.data or "")
    return done(f"Time zone set to {form.timezone.data}.", back)


@bp.post("/preview")
def start_preview() -> BaseResponse:
    """A dry run: what the sync would write, for a person to review and approve."""
    require(Capability.RUN_JOBS)
    return start_or_show("accounting.preview", {})


@bp.get("/previews/<int:preview_id>")
def preview(preview_id: int) -> str:
    require(Capability.VIEW)
    row = owned_or_404(AccountingPreview, current_clinic(), preview_id)
    actions = [(*described(action), n) for action, n in row.summary.get("actions", {}).items()]
    return render_template(
        "accounting/preview.html",
        preview=row,
        actions=actions,
        latest=latest_preview(current_clinic()),
        approved=settings_to_show(current_clinic()).approved_preview_id,
        form=SyncForm(),
        approve=approve_confirmation(row),
    )


def approve_confirmation(row: AccountingPreview) -> Confirmation:
    book = _book_name(settings_to_show(current_clinic()).book_id) or "the clinic's Reckon book"
    return Confirmation(
        title=f"Approve preview #{row.id} and let syncs write to Reckon?",
        body=f"From now on every sync writes {current_clinic().name}'s invoices, payments, "
        f"customers and voucher sales into {book}, scheduled syncs too. What Reckon receives "
        "stays there: approving cannot be undone here.",
        yes="Yes, approve and allow syncs",
        danger=False,
    )


@bp.route("/previews/<int:preview_id>/approve", methods=["GET", "POST"])
def approve(preview_id: int) -> tuple[str, int] | BaseResponse:
    require(Capability.RUN_JOBS)
    row = owned_or_404(AccountingPreview, current_clinic(), preview_id)
    if not confirmed():
        return ask(approve_confirmation(row), url_for("accounting.preview", preview_id=row.id))
    approve_preview(current_clinic(), current_user, row)
    return done(
        "Preview approved: syncs now write to Reckon (scheduled ones too).",
        url_for("accounting.index"),
    )


@bp.post("/decisions/<int:record_id>")
def decide(record_id: int) -> BaseResponse:
    """Pick the Reckon customer a patient is, or have a new one made."""
    require(Capability.RUN_JOBS)
    rec = owned_or_404(SyncRecord, current_clinic(), record_id)
    decide_customer(current_clinic(), current_user, rec, request.form.get("choice", ""))
    return done(
        f"Decided for {rec.label or rec.cliniko_id}: the next sync uses it.",
        url_for("accounting.index"),
    )


@bp.post("/sync")
def sync() -> BaseResponse:
    require(Capability.RUN_JOBS)
    if not first_sync_approved(settings_to_show(current_clinic())):
        return done(
            "Run a preview and approve it first: nothing is written to Reckon before that.",
            url_for("accounting.index"),
            "error",
        )
    form = SyncForm()
    params = {"full": bool(form.full.data)} if form.validate_on_submit() else {}
    return start_or_show("accounting.sync", params)


@bp.post("/reports")
def start_report() -> BaseResponse | tuple[str, int]:
    require(Capability.RUN_JOBS)
    form = ReportForm()
    valid = form.validate_on_submit()
    if valid and form.start.data > form.end.data:
        form.end.errors = [*form.end.errors, "The end must be on or after the start."]
        valid = False
    if not valid:
        return failed_page(lambda: (_index_page(report_form=form), 400))
    period = {"start": str(form.start.data), "end": str(form.end.data)}
    return start_or_show("accounting.report", period)


@bp.post("/schedules")
def schedule() -> BaseResponse | tuple[str, int]:
    require(Capability.RUN_JOBS)
    kind = request.form.get("kind", "")
    form = ScheduleForm(prefix=kind.replace(".", "-"))
    form.kind.data = kind
    back = url_for("accounting.index")
    if not form.validate_on_submit():
        return failed_page(lambda: (_index_page(schedule_form=form), 400))
    save_schedule(
        current_clinic(),
        current_user,
        kind,
        form.frequency.data or "daily",
        int(form.weekday.data or 0),
        form.local_time.data or "02:00",
        bool(form.enabled.data),
        form.every_minutes.data or 5,
    )
    return done(f"{KINDS.get(kind, 'Schedule')} schedule saved.", back)


def _lines(report: MismatchReport) -> Any:
    return select(MismatchLine).where(
        MismatchLine.report_id == report.id, MismatchLine.clinic_id == report.clinic_id
    )


@bp.get("/reports/<int:report_id>")
def report(report_id: int) -> str:
    require(Capability.VIEW)
    row = owned_or_404(MismatchReport, current_clinic(), report_id)
    # Undated lines first, as SQLite sorts NULLs (PostgreSQL would put them last).
    undated_first = MismatchLine.issue_date.asc().nulls_first()
    stmt = _lines(row).order_by(MismatchLine.resolved, undated_first, MismatchLine.id)
    page = paginate(stmt, LINES_PER_PAGE)
    links = invoice_links(current_clinic())
    return render_template("accounting/report.html", report=row, page=page, links=links)


@bp.get("/reports/<int:report_id>.csv")
def report_csv(report_id: int) -> Response:
    require(Capability.VIEW)
    row = owned_or_404(MismatchReport, current_clinic(), report_id)
    links = invoice_links(current_clinic())
    header = ["kind", "reference", "issue_date", "cliniko", "reckon", "message", "carried_over"]
    header += ["resolved", "first_seen", "cliniko_url", "reckon_url"]
    query = _lines(row).order_by(MismatchLine.id)

    def rows() -> Iterator[list[Any]]:
        for ln in db.session.scalars(query):
            yield [
                *(ln.kind, ln.reference, ln.issue_date, ln.cliniko_value, ln.reckon_value),
                *(ln.message, ln.carried_over, ln.resolved, ln.first_seen_at.date()),
                *(links.cliniko(ln.cliniko_id), links.reckon(ln.reckon_id)),
            ]

    return csv_response(f"mismatch-report-{row.id}.csv", header, rows)
