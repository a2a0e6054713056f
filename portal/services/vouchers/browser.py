"""Finding vouchers: search, filters, sorting, the clinic's figures, and deep links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select

from portal.clients.cliniko_links import billable_item_web_url, patient_web_url
from portal.clients.vaocherapp import voucher_url
from portal.extensions import db
from portal.models import Clinic, Connection, Voucher
from portal.models.types import utcnow
from portal.models.voucher import TERM_PATTERN, VoucherSearchTerm
from portal.tenancy import owned

SORTS = {
    "purchased": Voucher.purchased_at,
    "code": Voucher.code,
    "expiry": Voucher.expires_at,
    "balance": Voucher.balance_cents,
    "value": Voucher.value_cents,
    "purchaser": Voucher.purchaser_name,
}
STATUSES = ("active", "redeemed", "voided", "expired")
TERM_COUNT_CAP = 1000


@dataclass(frozen=True)
class VoucherFilters:
    q: str = ""
    status: str = ""
    expiring_days: int | None = None
    provisioned: str = ""  # "yes", "no" or "" for either
    unredeemed_use: bool = False  # used on Cliniko invoices beyond what VaocherApp has redeemed
    patient_id: str = ""
    sort: str = "-purchased"

    @property
    def active(self) -> bool:
        return any(
            (
                self.q,
                self.status,
                self.expiring_days,
                self.provisioned,
                self.unredeemed_use,
                self.patient_id,
            )
        )


def query_words(q: str) -> list[str]:
    """Words typed into the search: codes and emails stay whole, other text splits into words."""
    words: list[str] = []
    for chunk in q.lower().split():
        words += [chunk] if ("@" in chunk or "-" in chunk) else TERM_PATTERN.findall(chunk)
    return [w[:64] for w in words if w]


def _matching(clinic: Clinic, words: list[str]) -> Any:
    """Vouchers having, for every word, a search term that starts with it.

    The rarest word picks candidates through the (clinic, term) index. When they are few, the
    other words are checked on those candidates here and the page query gets a short literal id
    list, which the database fetches by primary key; a subquery would instead have it walk the
    whole clinic in sort order, testing each row.
    """
    counts = {w: _term_count(clinic, w) for w in words}
    words = sorted(counts, key=counts.__getitem__)
    by_word = [
        select(VoucherSearchTerm.voucher_id).where(
            VoucherSearchTerm.clinic_id == clinic.id, *_starts(VoucherSearchTerm.term, word)
        )
        for word in words
    ]
    if counts[words[0]] >= TERM_COUNT_CAP:
        return and_(*(Voucher.id.in_(ids) for ids in by_word))
    candidates = set(db.session.scalars(by_word[0]))
    if len(words) > 1 and candidates:
        terms: dict[int, list[str]] = {}
        rows = db.session.execute(
            select(VoucherSearchTerm.voucher_id, VoucherSearchTerm.term).where(
                VoucherSearchTerm.voucher_id.in_(candidates)
            )
        )
        for voucher_id, term in rows:
            terms.setdefault(voucher_id, []).append(term)
        candidates = {
            v for v in candidates if all(any(t.startswith(w) for t in terms[v]) for w in words[1:])
        }
    return Voucher.id.in_(sorted(candidates))


def _starts(column: Any, word: str) -> tuple[Any, Any]:
    """`column` starts with `word`, as an index range (terms are lower-case letters and digits)."""
    return column >= word, column < word + "\x7f"


def _term_count(clinic: Clinic, word: str) -> int:
    """How many terms start with `word`, counted no further than the cap (cheap, from the index)."""
    hits = (
        select(VoucherSearchTerm.id)
        .where(VoucherSearchTerm.clinic_id == clinic.id, *_starts(VoucherSearchTerm.term, word))
        .limit(TERM_COUNT_CAP)
    )
    return db.session.scalar(select(func.count()).select_from(hits.subquery())) or 0


def _ordering(sort: str) -> list[object]:
    column = SORTS.get(sort.lstrip("-"), Voucher.purchased_at)
    key = column.desc() if sort.startswith("-") else column.asc()
    return [key, Voucher.id.desc() if sort.startswith("-") else Voucher.id.asc()]


def vouchers_query(clinic: Clinic, f: VoucherFilters) -> Select[Voucher]:
    stmt = owned(Voucher, clinic)
    words = query_words(f.q)
    if words:
        stmt = stmt.where(_matching(clinic, words))
    if f.status:
        stmt = stmt.where(Voucher.status == f.status)
    if f.expiring_days is not None:
        now = utcnow()
        horizon = now + timedelta(days=f.expiring_days)
        stmt = stmt.where(Voucher.expires_at >= now, Voucher.expires_at <= horizon)
    if f.provisioned == "yes":
        stmt = stmt.where(Voucher.cliniko_billable_item_id.is_not(None))
    elif f.provisioned == "no":
        stmt = stmt.where(Voucher.cliniko_billable_item_id.is_(None))
    if f.unredeemed_use:
        redeemed = Voucher.value_cents - Voucher.balance_cents
        stmt = stmt.where(Voucher.cliniko_used_cents > redeemed)
    if f.patient_id:
        stmt = stmt.where(Voucher.cliniko_patient_id == f.patient_id)
    return stmt.order_by(*_ordering(f.sort))  # type: ignore[arg-type]


@dataclass(frozen=True)
class VoucherLinks:
    vaocherapp: str
    patient: str
    billable_item: str


def voucher_links(voucher: Voucher, cliniko: Connection | None) -> VoucherLinks:
    """Deep links into VaocherApp and Cliniko (Cliniko's need the account subdomain and shard)."""
    subdomain = cliniko.detail("subdomain") if cliniko else None
    shard = cliniko.detail("shard") if cliniko else None
    patient = item = ""
    if subdomain and shard and voucher.cliniko_patient_id:
        patient = patient_web_url(subdomain, shard, voucher.cliniko_patient_id)
    if subdomain and shard and voucher.cliniko_billable_item_id:
        item = billable_item_web_url(subdomain, shard, voucher.cliniko_billable_item_id)
    return VoucherLinks(voucher_url(voucher.code), patient, item)


def vaocherapp_link(code: str) -> str:
    """A voucher code's page in the VaocherApp dashboard (for codes not yet stored here)."""
    return voucher_url(code)


def vouchers_of_patient(clinic: Clinic, patient_id: str) -> list[Voucher]:
    stmt = owned(Voucher, clinic).where(Voucher.cliniko_patient_id == patient_id)
    # Newest first; undated ones last on both databases (PostgreSQL puts NULLs first on DESC).
    newest = (Voucher.purchased_at.desc().nulls_last(), Voucher.id.desc())
    return list(db.session.scalars(stmt.order_by(*newest).limit(2)))
