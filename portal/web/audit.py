"""The agency's audit log at /a/<agency>/audit: filters (person, clinic, action, dates), each
event as a sentence at the local time of its clinic (else the agency's), pages, CSV export."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request
from wtforms import SelectChoice

from portal.extensions import db
from portal.forms.audit import AuditFilterForm
from portal.jobs.kinds import KINDS
from portal.models import Agency, AuditEvent
from portal.services.audit.search import (
    AuditFilters,
    audit_lines,
    audit_people,
    audit_query,
    known_action,
)
from portal.services.audit.wording import action_choices
from portal.services.timezones import agency_timezone
from portal.tenancy import Capability, current_agency, require, scope_to_agency

from .csv_export import csv_response
from .htmx import page_or_fragment, paginate

bp = scope_to_agency(Blueprint("audit", __name__))
CSV_BATCH = 500


def _titles() -> dict[str, str]:
    return {name: kind.title for name, kind in KINDS.items()}


def _form() -> AuditFilterForm:
    agency = current_agency()
    form = AuditFilterForm(request.args)
    form.person.choices = [SelectChoice("", "Anyone")] + [
        SelectChoice(str(u.id), u.name) for u in audit_people(agency)
    ]
    form.clinic.choices = [SelectChoice("", "Any clinic")] + [
        SelectChoice(c.slug, c.name) for c in agency.clinics
    ]
    groups: dict[str, list[SelectChoice]] = {"Everything": [SelectChoice("", "Anything")]}
    for area, heading, actions in action_choices():
        everything = SelectChoice(area, f"Any of: {heading.lower()}")
        groups[heading] = [everything] + [SelectChoice(a, label) for a, label in actions]
    form.action.choices = groups
    form.validate()
    return form


def _filters(form: AuditFilterForm) -> AuditFilters:
    agency = current_agency()
    person, slug, action = form.person.data or "", form.clinic.data or "", form.action.data or ""
    people = {str(u.id): u.id for u in audit_people(agency)} if person else {}
    clinic_id = next((c.id for c in agency.clinics if c.slug == slug), None)
    return AuditFilters(
        actor_id=people.get(person),
        clinic_id=clinic_id,
        action=action if known_action(action) else "",
        date_from=None if form.date_from.errors else form.date_from.data,
        date_to=None if form.date_to.errors else form.date_to.data,
    )


@bp.get("/")
def index() -> str:
    require(Capability.MANAGE_USERS)
    agency, form = current_agency(), _form()
    page = paginate(audit_query(agency, _filters(form)), current_app.config["PAGE_SIZE"])
    return page_or_fragment(
        "agency/audit.html",
        "agency/_audit_table.html",
        form=form,
        page=page,
        lines=audit_lines(agency, list(page.items), _titles()),
        agency_zone=agency_timezone(agency),
    )


@bp.get("/export.csv")
def export_csv() -> Response:
    require(Capability.MANAGE_USERS)
    agency, form = current_agency(), _form()
    stmt, titles = audit_query(agency, _filters(form)), _titles()

    def rows() -> Iterator[tuple[object, ...]]:
        batch: list[AuditEvent] = []
        for event in db.session.scalars(stmt.execution_options(yield_per=CSV_BATCH)):
            batch.append(event)
            if len(batch) == CSV_BATCH:
                yield from _csv_rows(agency, batch, titles)
                batch = []
        yield from _csv_rows(agency, batch, titles)

    header = [
        *("local_time", "time_zone", "utc_time", "who", "who_email", "clinic", "what"),
        *("action", "target", "details", "address"),
    ]
    return csv_response(f"audit-{agency.slug}.csv", header, rows)


def _csv_rows(
    agency: Agency, events: list[AuditEvent], titles: dict[str, str]
) -> Iterator[tuple[object, ...]]:
    for line in audit_lines(agency, events, titles):
        yield (
            line.when.strftime("%Y-%m-%d %H:%M:%S"),
            line.zone,
            line.event.at.isoformat(),
            *(line.who, line.who_email, line.clinic, line.sentence),
            *(line.event.action, line.event.target, _detail(line.event.detail)),
            line.event.address,
        )


def _detail(detail: dict[str, object] | None) -> str:
    return "; ".join(f"{k}: {v}" for k, v in (detail or {}).items())
