"""A plan as a manager reads it before approving: one line per voucher (its balance before and
after, what happens to its billable item in Cliniko) with its rows under it, and one sentence for
the whole plan ("Redeems 3 vouchers, $295.00 in all; archives 1 billable item; …")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Integer, case, func, select

from portal.extensions import db
from portal.models import Voucher
from portal.models.reconciliation import (
    ACTIONABLE,
    ReconciliationBatch,
    ReconciliationRow,
    RowClass,
)
from portal.services.formats import money_text


@dataclass
class VoucherLine:
    """One voucher of the plan: balance before → after and the billable item's fate."""

    code: str
    voucher: Voucher | None
    before: int | None = None  # the balance VaocherApp showed when the plan was made
    redeem: int = 0  # what the plan redeems from it (rows not excluded)
    rows: list[ReconciliationRow] = field(default_factory=list)

    @property
    def after(self) -> int | None:
        return None if self.before is None else self.before - self.redeem

    @property
    def patient(self) -> str:
        return (self.voucher.patient_name or self.voucher.recipient_name) if self.voucher else ""

    @property
    def cliniko(self) -> str:
        """What applying the plan does to the voucher's billable item in Cliniko."""
        voucher, after = self.voucher, self.after
        if voucher is None or after is None or voucher.billable_item_archived_at is not None:
            return ""
        if after <= 0 and (self.redeem or self.before == 0):
            return "billable item archived"
        if self.redeem:
            return f"billable item re-priced to {money_text(-after)}"
        return ""


# Why rows are skipped, in the words of the summary sentence (by the start of their reason).
SKIP_REASONS = {
    "Skipped: someone already redeemed": (
        "it was already redeemed by hand",
        "they were already redeemed by hand",
    ),
    "Skipped: an earlier run": (
        "an earlier run already redeemed it",
        "an earlier run already redeemed them",
    ),
    "Skipped: nothing is left": (
        "nothing was left on the voucher",
        "nothing was left on the voucher",
    ),
}
OTHER_SKIP = ("it was already redeemed", "they were already redeemed")
NEEDS_A_LOOK = {
    RowClass.AMBIGUOUS: "ambiguous",
    RowClass.UNKNOWN: "with an unknown code",
    RowClass.VOIDED: "for a voided or expired voucher",
    RowClass.INVALID: "unreadable",
}


@dataclass
class PlanSummary:
    vouchers: int = 0
    redeem_cents: int = 0
    archives: int = 0
    reprices: int = 0
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    looks: Counter[str] = field(default_factory=Counter)
    excluded: int = 0


def voucher_lines(
    batch: ReconciliationBatch, rows: Sequence[ReconciliationRow]
) -> list[VoucherLine]:
    """`rows` (a page of the plan) grouped under their vouchers, in the order they come."""
    lines: dict[str, VoucherLine] = {}
    for row in rows:
        key = f"v{row.voucher_id}" if row.voucher_id else f"c{row.code or ''}"
        if key not in lines:
            lines[key] = VoucherLine(code=row.code, voucher=row.voucher)
        lines[key].rows.append(row)
    figures = _figures(batch, [r.voucher_id for r in rows if r.voucher_id])
    for line in lines.values():
        if line.voucher is not None:
            line.code = line.voucher.code
            line.before, line.redeem = figures.get(line.voucher.id, (None, 0))
    return list(lines.values())


def _figures(
    batch: ReconciliationBatch, voucher_ids: list[int]
) -> dict[int, tuple[int | None, int]]:
    """Voucher id → (balance the plan read, what the plan redeems), over all the batch's rows."""
    if not voucher_ids:
        return {}
    counted = (ReconciliationRow.classification.in_(ACTIONABLE)) & (
        ReconciliationRow.excluded.is_(False)
    )
    stmt = (
        select(
            ReconciliationRow.voucher_id,
            func.max(ReconciliationRow.plan_balance_cents),
            func.sum(case((counted, ReconciliationRow.redeem_cents), else_=0), type_=Integer),
        )
        .where(
            ReconciliationRow.batch_id == batch.id,
            ReconciliationRow.voucher_id.in_(set(voucher_ids)),
        )
        .group_by(ReconciliationRow.voucher_id)
    )
    return {vid: (before, int(redeem or 0)) for vid, before, redeem in db.session.execute(stmt)}


def plan_summary(batch: ReconciliationBatch) -> PlanSummary:
    """The whole plan counted: vouchers and money redeemed, billable items, skips and the rest."""
    summary = PlanSummary()
    all_ids = select(ReconciliationRow.voucher_id).where(
        ReconciliationRow.batch_id == batch.id, ReconciliationRow.voucher_id.is_not(None)
    )
    ids = [vid for vid in db.session.scalars(all_ids.distinct()) if vid is not None]
    vouchers = {v.id: v for v in db.session.scalars(select(Voucher).where(Voucher.id.in_(ids)))}
    for vid, (before, redeem) in _figures(batch, ids).items():
        line = VoucherLine(code="", voucher=vouchers.get(vid), before=before, redeem=redeem)
        if redeem:
            summary.vouchers += 1
            summary.redeem_cents += redeem
        effect = line.cliniko
        summary.archives += effect.startswith("billable item archived")
        summary.reprices += effect.startswith("billable item re-priced")
    stmt = select(
        ReconciliationRow.classification, ReconciliationRow.reason, ReconciliationRow.excluded
    ).where(ReconciliationRow.batch_id == batch.id)
    for cls, reason, excluded in db.session.execute(stmt):
        if excluded:
            summary.excluded += 1
        elif cls == RowClass.ALREADY:
            summary.skipped[_skip_reason(reason)] += 1
        elif cls in NEEDS_A_LOOK:
            summary.looks[NEEDS_A_LOOK[RowClass(cls)]] += 1
    return summary


def _skip_reason(reason: str) -> tuple[str, str]:
    """(one row's reason, several rows' reason) in the sentence's words."""
    return next((w for start, w in SKIP_REASONS.items() if reason.startswith(start)), OTHER_SKIP)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def plan_sentence(summary: PlanSummary) -> str:
    """The plan in one sentence, for the button that approves it."""
    if summary.vouchers:
        parts = [
            f"Redeems {_count(summary.vouchers, 'voucher')}, "
            f"{money_text(summary.redeem_cents)} in all"
        ]
    else:
        parts = ["Redeems nothing"]
    if summary.archives:
        parts.append(f"archives {_count(summary.archives, 'billable item')}")
    if summary.reprices:
        parts.append(f"re-prices {_count(summary.reprices, 'billable item')}")
    # In the order the reasons are listed above, not the order the rows were read (which the
    # database does not fix: SQLite and PostgreSQL differ).
    for one, many in (*SKIP_REASONS.values(), OTHER_SKIP):
        if n := summary.skipped[(one, many)]:
            parts.append(f"{_count(n, 'row')} skipped because {one if n == 1 else many}")
    for what in NEEDS_A_LOOK.values():
        if n := summary.looks[what]:
            parts.append(f"{_count(n, 'row')} {what} left alone")
    if summary.excluded:
        parts.append(f"{_count(summary.excluded, 'row')} excluded by you")
    return "; ".join(parts) + "."
