"""Problems that are states rather than events (vouchers not in Cliniko, expiring, used but not
redeemed; plans waiting for approval; invoices needing action): refreshed after a clinic's runs
and hourly by the scheduler, raising and resolving as the state changes. Grouped queries: the cost
does not grow with the number of clinics times kinds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Clinic, Problem, ProblemState, SyncRecord, User, Voucher
from portal.models.reconciliation import BatchStatus, ReconciliationBatch
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.audit import record_event

from .kinds import ProblemKind
from .record import path_for, raise_problem, resolve_automatically

# A voucher bought a moment ago is being provisioned by its own run: not a problem yet.
PROVISION_GRACE = timedelta(minutes=30)
PLAN_WAIT = timedelta(days=1)
# The books work may add a "needs a decision" state; counted by name so either version works.
SYNC_STATES = {
    "needs_action": ProblemKind.ACCOUNTING_ACTION,
    "needs_decision": ProblemKind.ACCOUNTING_DECISION,
}


Counts = dict[ProblemKind, dict[int, int]]  # kind → clinic id → how many


class StateGroup(StrEnum):
    """What a piece of work can change, so that only those states are counted again after it."""

    VOUCHERS = "vouchers"  # not in Cliniko, expiring, used but not redeemed
    PLANS = "plans"  # reconciliation plans waiting for approval
    SYNC = "sync"  # records needing action or a decision before they can go to Reckon


GROUP_KINDS = {
    StateGroup.VOUCHERS: (
        ProblemKind.NOT_PROVISIONED,
        ProblemKind.EXPIRING,
        ProblemKind.UNREDEEMED_USE,
    ),
    StateGroup.PLANS: (ProblemKind.PLAN_WAITING,),
    StateGroup.SYNC: (ProblemKind.ACCOUNTING_ACTION, ProblemKind.ACCOUNTING_DECISION),
}
ALL_GROUPS = frozenset(StateGroup)


def _per_clinic(stmt: Any) -> dict[int, int]:
    return {clinic_id: int(n) for clinic_id, n in db.session.execute(stmt)}


def _voucher_counts(ids: list[int], clinics: Sequence[Clinic], now: datetime) -> Counts:
    live = (Voucher.clinic_id.in_(ids), Voucher.status == "active", Voucher.test_mode.is_(False))
    unprovisioned = _per_clinic(
        select(Voucher.clinic_id, func.count())
        .where(
            *live,
            Voucher.cliniko_billable_item_id.is_(None),
            Voucher.created_at < now - PROVISION_GRACE,
        )
        .group_by(Voucher.clinic_id)
    )
    unredeemed = _per_clinic(
        select(Voucher.clinic_id, func.count())
        .where(
            Voucher.clinic_id.in_(ids),
            Voucher.cliniko_used_cents > Voucher.value_cents - Voucher.balance_cents,
        )
        .group_by(Voucher.clinic_id)
    )
    expiring: dict[int, int] = {}
    by_window: dict[int, list[int]] = defaultdict(list)
    for clinic in clinics:
        by_window[clinic.expiry_window_days].append(clinic.id)
    for days, clinic_ids in by_window.items():  # one query per distinct window, not per clinic
        expiring |= _per_clinic(
            select(Voucher.clinic_id, func.count())
            .where(
                Voucher.clinic_id.in_(clinic_ids),
                Voucher.status == "active",
                Voucher.expires_at >= now,
                Voucher.expires_at <= now + timedelta(days=days),
            )
            .group_by(Voucher.clinic_id)
        )
    return {
        ProblemKind.NOT_PROVISIONED: unprovisioned,
        ProblemKind.UNREDEEMED_USE: unredeemed,
        ProblemKind.EXPIRING: expiring,
    }


def _sync_counts(ids: list[int]) -> Counts:
    found: Counts = {kind: {} for kind in SYNC_STATES.values()}
    stmt = (
        select(SyncRecord.clinic_id, SyncRecord.state, func.count())
        .where(SyncRecord.clinic_id.in_(ids), SyncRecord.state.in_(list(SYNC_STATES)))
        .group_by(SyncRecord.clinic_id, SyncRecord.state)
    )
    for clinic_id, state, n in db.session.execute(stmt):
        found[SYNC_STATES[state]][clinic_id] = int(n)
    return found


def _wording(kind: ProblemKind, n: int, clinic: Clinic) -> tuple[str, str]:
    """(title, link) of a state problem with `n` records, in the clinic's words."""
    vouchers = "1 voucher" if n == 1 else f"{n} vouchers"
    slug = clinic.slug
    if kind == ProblemKind.NOT_PROVISIONED:
        return f"{vouchers} not set up in Cliniko yet", path_for(
            "vouchers.index", clinic=slug, status="active", provisioned="no"
        )
    if kind == ProblemKind.EXPIRING:
        days = clinic.expiry_window_days
        return f"{vouchers} expire within {days} days", path_for(
            "vouchers.index", clinic=slug, status="active", expiring_days=days
        )
    if kind == ProblemKind.UNREDEEMED_USE:
        return f"{vouchers} used in Cliniko but not redeemed in VaocherApp", path_for(
            "vouchers.index", clinic=slug, unredeemed_use=1
        )
    records = "1 record" if n == 1 else f"{n} records"
    verb = "needs" if n == 1 else "need"
    what = "action" if kind == ProblemKind.ACCOUNTING_ACTION else "a decision"
    return f"{records} {verb} {what} before they can go to Reckon", path_for(
        "accounting.index", clinic=slug
    )


def refresh_state_problems(
    clinics: Sequence[Clinic], groups: Collection[StateGroup] = ALL_GROUPS
) -> None:
    """Raise each state problem that holds now and resolve the ones that no longer do; only
    the `groups` of states (after a run: those its kind can change; the hourly refresh, which
    also catches what time alone changes, does all)."""
    if not clinics or not groups:
        return
    now, ids = utcnow(), [c.id for c in clinics]
    by_id = {c.id: c for c in clinics}
    counts: Counts = {}
    if StateGroup.VOUCHERS in groups:
        counts |= _voucher_counts(ids, clinics, now)
    if StateGroup.SYNC in groups:
        counts |= _sync_counts(ids)
    still: set[tuple[int, str, str]] = set()
    for kind, per_clinic in counts.items():
        for clinic_id, n in per_clinic.items():
            if n:
                title, link = _wording(kind, n, by_id[clinic_id])
                raise_problem(by_id[clinic_id], kind, "state", title=title, link=link)
                still.add((clinic_id, kind, "state"))
    plans = _waiting_plans(ids, now) if StateGroup.PLANS in groups else []
    for batch in plans:
        clinic = by_id[batch.clinic_id]
        days = max(1, (now - batch.created_at).days)
        title = (
            f"The plan for {batch.filename or 'an export'} has waited {days} day(s) for approval"
        )
        link = path_for("reconciliation.show", clinic=clinic.slug, batch_id=batch.id)
        raise_problem(clinic, ProblemKind.PLAN_WAITING, f"batch:{batch.id}", title=title, link=link)
        still.add((clinic.id, ProblemKind.PLAN_WAITING, f"batch:{batch.id}"))
    kinds = [kind for group in groups for kind in GROUP_KINDS[StateGroup(group)]]
    _resolve_the_rest(ids, kinds, still)


def _waiting_plans(ids: list[int], now: datetime) -> list[ReconciliationBatch]:
    stmt = select(ReconciliationBatch).where(
        ReconciliationBatch.clinic_id.in_(ids),
        ReconciliationBatch.status == BatchStatus.PLANNED,
        ReconciliationBatch.created_at < now - PLAN_WAIT,
    )
    return list(db.session.scalars(stmt))


def _resolve_the_rest(
    ids: list[int], kinds: list[ProblemKind], still: set[tuple[int, str, str]]
) -> None:
    stmt = select(Problem).where(
        Problem.clinic_id.in_(ids),
        Problem.kind.in_([k.value for k in kinds]),
        Problem.state != ProblemState.RESOLVED,
    )
    for problem in db.session.scalars(stmt):
        if (problem.clinic_id, problem.kind, problem.subject) not in still:
            resolve_automatically(problem, "nothing is left in that state")


MAX_EXPIRY_WINDOW_DAYS = 365


def set_expiry_window(clinic: Clinic, actor: User, days: int) -> None:
    """How many days ahead an expiring voucher becomes a problem for this clinic (default 30)."""
    if not 1 <= days <= MAX_EXPIRY_WINDOW_DAYS:
        raise DomainError(f"Choose between 1 and {MAX_EXPIRY_WINDOW_DAYS} days.")
    before, clinic.expiry_window_days = clinic.expiry_window_days, days
    record_event("clinic.expiry_window", actor, clinic=clinic, detail={"from": before, "to": days})
    refresh_state_problems([clinic])
