"""The problem inbox: the agency's at /a/<agency>/inbox (every clinic the person may see) and a
clinic's at /c/<clinic>/inbox. Filters, severity-then-age order, pages, counts by clinic and kind,
bulk assign / snooze / resolve after a confirmation page (no script needed), and a CSV export."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from portal.extensions import db
from portal.forms.jobs import ConfirmForm
from portal.models import Clinic, Problem, Severity, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.problems.alerts import remember_base_url
from portal.services.problems.inbox import (
    AGES,
    VIEWS,
    InboxFilters,
    active_counts,
    inbox_query,
    problems_by_ids,
)
from portal.services.problems.kinds import ProblemKind, kind_label
from portal.services.problems.workflow import assign_problems, resolve_problems, snooze_problems
from portal.services.users import list_agency_users
from portal.tenancy import (
    CAPABILITIES,
    Capability,
    agency_clinics_for,
    can,
    current_agency,
    current_clinic,
    require,
    role_in_clinic,
    scope_to_agency,
    scope_to_clinic,
)

from .csv_export import csv_response
from .htmx import done, page_or_fragment, paginate
from .transaction import failed, form_again

agency_bp = scope_to_agency(Blueprint("agency_inbox", __name__), members=True)
clinic_bp = scope_to_clinic(Blueprint("clinic_inbox", __name__))
ACTIONS = {"assign": "Assign", "snooze": "Snooze", "resolve": "Resolve"}
SNOOZE_DAYS = (1, 3, 7, 30)


@dataclass(frozen=True)
class Scope:
    endpoint: str  # the blueprint: agency_inbox or clinic_inbox
    heading: str
    visible: list[Clinic]
    actionable: frozenset[int]  # clinic ids where the person may handle problems

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.visible]

    def url(self, endpoint: str, /, **values: Any) -> str:
        return url_for(f"{self.endpoint}.{endpoint}", **values)


def _scope() -> Scope:
    remember_base_url(request.host_url)  # for links in mail when PUBLIC_BASE_URL is unset
    if request.blueprint == "agency_inbox":
        agency = current_agency()
        visible = agency_clinics_for(current_user, agency, Capability.VIEW)
        acting = agency_clinics_for(current_user, agency, Capability.HANDLE_PROBLEMS)
        return Scope("agency_inbox", agency.name, visible, frozenset(c.id for c in acting))
    require(Capability.VIEW)
    clinic = current_clinic()
    mine = frozenset({clinic.id}) if can(Capability.HANDLE_PROBLEMS) else frozenset()
    return Scope("clinic_inbox", clinic.name, [clinic], mine)


def _filters(scope: Scope) -> InboxFilters:
    args = request.args
    slug = args.get("clinic", "")
    chosen = tuple(c.id for c in scope.visible if c.slug == slug)
    return InboxFilters(
        clinic_ids=chosen if slug and chosen else (),
        kind=args.get("kind", "") if args.get("kind", "") in set(ProblemKind) else "",
        severity=args.get("severity", "") if args.get("severity", "") in set(Severity) else "",
        assignee=args.get("assignee", ""),
        age=args.get("age", "") if args.get("age", "") in AGES else "",
        view=args.get("view", "open") if args.get("view") in VIEWS else "open",
    )


def _count_rows(scope: Scope) -> list[dict[str, Any]]:
    """Per visible clinic with problems: its total and (kind, label, count) chips."""
    counts = active_counts(scope.ids)
    rows = []
    for clinic in scope.visible:
        chips = [
            (k, kind_label(k), n) for (cid, k), n in sorted(counts.items()) if cid == clinic.id
        ]
        if chips:
            rows.append({"clinic": clinic, "total": sum(n for _, _, n in chips), "chips": chips})
    return sorted(rows, key=lambda r: (-r["total"], r["clinic"].name))


def index() -> str:
    scope = _scope()
    filters = _filters(scope)
    page = paginate(inbox_query(scope.ids, filters, current_user), current_app.config["PAGE_SIZE"])
    return page_or_fragment(
        "inbox/index.html",
        "inbox/_list.html",
        scope=scope,
        filters=filters,
        page=page,
        counts=_count_rows(scope),
        kinds=list(ProblemKind),
        severities=list(Severity),
        people=_people(scope, scope.visible),
        ages=AGES,
        views=VIEWS,
        actions=ACTIONS,
        confirm_form=ConfirmForm(),
    )


def show(problem_id: int) -> str:
    scope = _scope()
    found = problems_by_ids(scope.ids, [problem_id])
    if not found:
        abort(404)
    return render_template(
        "inbox/show.html", scope=scope, problem=found[0], actions=ACTIONS, form=ConfirmForm()
    )


def export_csv() -> Response:
    scope = _scope()
    stmt = inbox_query(scope.ids, _filters(scope), current_user)
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    names = {c.id: c.name for c in scope.visible}

    def rows() -> Iterator[tuple[object, ...]]:
        for p in db.session.scalars(stmt):
            yield (
                *(names.get(p.clinic_id, ""), kind_label(p.kind), p.severity, p.state, p.title),
                p.assignee.name if p.assignee else "",
                *(p.opened_at.isoformat(), p.first_seen.isoformat(), p.last_seen.isoformat()),
                *(p.count, "yes" if p.regression else "", base + p.link if p.link else ""),
                p.details,
            )

    header = [
        *("clinic", "kind", "severity", "state", "title", "assignee", "opened", "first_seen"),
        *("last_seen", "count", "regression", "link", "details"),
    ]
    return csv_response("problems.csv", header, rows)


def _people(scope: Scope, clinics: list[Clinic]) -> list[User]:
    """People a problem of these clinics may be given to: those who may handle it in each."""
    agency = clinics[0].agency if clinics else None
    if agency is None:
        return []
    return [
        user
        for user in list_agency_users(agency)
        if all(_may_handle(user, clinic) for clinic in clinics)
    ]


def _may_handle(user: User, clinic: Clinic) -> bool:
    role = role_in_clinic(user, clinic)
    return role is not None and Capability.HANDLE_PROBLEMS in CAPABILITIES[role]


def _back(scope: Scope) -> str:
    back = request.form.get("back", "")
    return back if back.startswith("/") and not back.startswith("//") else scope.url("index")


def bulk() -> str | BaseResponse | tuple[str, int]:
    scope = _scope()
    if not scope.actionable:
        abort(403)
    if not ConfirmForm().validate_on_submit() or request.form.get("action") not in ACTIONS:
        abort(400)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    problems = problems_by_ids(sorted(scope.actionable), ids)
    back, action = _back(scope), request.form["action"]
    if not problems:
        return failed("Choose at least one problem you may handle.", back)
    clinics = list({p.clinic_id: p.clinic for p in problems}.values())
    people = _people(scope, clinics)
    context: dict[str, Any] = {
        "scope": scope,
        "problems": problems,
        "action": action,
        "actions": ACTIONS,
        "back": back,
        "people": people,
        "snooze_days": SNOOZE_DAYS,
        "form": ConfirmForm(),
    }
    if request.form.get("confirmed") != "1":
        return render_template("inbox/confirm.html", **context)
    try:
        message = _act(action, problems, people)
    except DomainError as error:
        return form_again(str(error), "inbox/confirm.html", **context)
    return done(message, back)


def _act(action: str, problems: list[Problem], people: list[User]) -> str:
    if action == "assign":
        chosen = request.form.get("assignee", "")
        assignee = next((u for u in people if str(u.id) == chosen), None)
        if chosen and assignee is None:
            raise DomainError("Choose someone who may handle these problems.")
        n = assign_problems(problems, current_user, assignee)
        who = assignee.name if assignee else "nobody"
        return f"{_problems(n)} assigned to {who}."
    if action == "snooze":
        days = request.form.get("days", type=int) or 0
        if days not in SNOOZE_DAYS:
            raise DomainError("Choose how long to snooze for.")
        until = utcnow() + timedelta(days=days)
        n = snooze_problems(problems, current_user, until)
        return f"{_problems(n)} snoozed for {days} day{'s' if days != 1 else ''}."
    n = resolve_problems(problems, current_user, request.form.get("note", ""))
    return f"{_problems(n)} resolved."


def _problems(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''}"


def age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "5 min", "3 h", "2 d"."""
    if when is None:
        return ""
    seconds = max(0, int(((now or utcnow()) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"


def age_until(when: datetime | None) -> str:
    """How long until: "40 min", "5 h", "2 d"."""
    if when is None:
        return ""
    now = utcnow()
    return age(now, when) if when > now else "now"


ROUTES: list[tuple[str, str, Callable[..., Any], list[str]]] = [
    ("/", "index", index, ["GET"]),
    ("/problems.csv", "export_csv", export_csv, ["GET"]),
    ("/bulk", "bulk", bulk, ["POST"]),
    ("/<int:problem_id>", "show", show, ["GET"]),
]
for _bp in (agency_bp, clinic_bp):
    for _rule, _endpoint, _view, _methods in ROUTES:
        _bp.add_url_rule(_rule, _endpoint, _view, methods=_methods)
agency_bp.add_app_template_filter(age, "age")
agency_bp.add_app_template_filter(age_until, "age_until")
agency_bp.add_app_template_filter(kind_label, "kind_label")
