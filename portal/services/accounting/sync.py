"""One run's environment, the dry-run (preview) writer, and items: products and billable items.

Customers are in `customers`, invoices and their credit notes in `invoices`, payments in
`payments`, voucher sales and breakage in `vouchers`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, inspect
from sqlalchemy.exc import OperationalError

from portal.clients.cliniko_models import BillableItem, Product
from portal.clients.errors import ValidationError
from portal.clients.reckon import ReckonClient
from portal.extensions import db
from portal.models import (
    AccountingSettings,
    Clinic,
    EntityKind,
    SyncClaim,
    SyncRecord,
    SyncState,
)
from portal.models.types import utcnow
from portal.services.accounting import map as m
from portal.services.accounting.approval import InvoiceApproval
from portal.services.accounting.push import (
    Breaker,
    Later,
    Push,
    Unchanged,
    new_sync_record,
    push_later,
    push_record,
    records_by_kind,
)
from portal.tenancy import owned

VOUCHER_ITEM_KEY = "voucher"  # the one Reckon item every voucher line uses


@dataclass
class Plan:
    """What a preview would write: counts by kind and action, totals by month and tax code."""

    actions: Counter[str] = field(default_factory=Counter)
    totals: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add_lines(self, when: date, lines: list[tuple[str, Decimal]], sign: int = 1) -> None:
        for code, amount in lines:
            self.totals[(when.strftime("%Y-%m"), code)] += sign * amount

    def summary(self) -> dict[str, Any]:
        return {
            "actions": dict(sorted(self.actions.items())),
            "totals": [
                {"month": month, "code": code, "amount": str(amount)}
                for (month, code), amount in sorted(self.totals.items())
            ],
            "writes": sum(n for k, n in self.actions.items() if not k.endswith(" unchanged")),
        }


@dataclass
class SyncEnv:
    """Everything a record handler needs for one run."""

    clinic: Clinic
    settings: AccountingSettings
    reckon: ReckonClient
    book_id: str
    rates: dict[str, Decimal]  # Reckon sales tax code → rate
    checkpoint: Callable[[], None]
    breaker: Breaker = field(default_factory=Breaker)
    names: dict[str, str] = field(default_factory=dict)  # customer name → Cliniko patient id
    # The clinic's cross-references, by kind then Cliniko id: loaded once (load_records), then
    # every record made during the run is added, so lookups never go back to the database.
    known: dict[str, dict[str, SyncRecord]] = field(default_factory=dict)
    # A preview: nothing is written to Reckon and no cross-reference is stored.
    dry: bool = False
    plan: Plan = field(default_factory=Plan)
    business_zones: dict[str, str] = field(default_factory=dict)  # Cliniko business id → IANA
    emails: Counter[str] = field(default_factory=Counter)  # patients per email, this run's view
    customer_index: Any = None  # customers.CustomerIndex when a run matches many patients
    # Records claimed (kind, Cliniko id) and not yet sent: their creates need no checkpoint each.
    claimed: set[tuple[str, str]] = field(default_factory=set)
    claim: SyncClaim | None = None
    # Claims of one record each (`_claim_one`), released with the chunk's claim.
    own_claims: list[int] = field(default_factory=list)
    # Threads for Reckon writes that need no checkpoint (`push_later`); None: one at a time.
    writer: Executor | None = None
    approval: InvoiceApproval = field(init=False)  # how a new invoice is left Approved

    def __post_init__(self) -> None:
        self.approval = InvoiceApproval(self.reckon, self.book_id)

    def load_records(self) -> None:
        self.known = records_by_kind(self.clinic)
        if self.dry:  # detached: the handlers may change them, nothing reaches the database
            for records in self.known.values():
                for rec in records.values():
                    db.session.expunge(rec)
        else:
            self._settle_claims()
        self.names = {r.label: r.cliniko_id for r in self.customers.values() if r.label}

    # ---- claims: one checkpoint for many creates (see push.py for one) ------------------------
    def claim_records(self, refs: list[tuple[str, str]]) -> None:
        """Before records are sent, mark those that would be created as possibly in Reckon, in
        one commit: their creates then skip the checkpoint each would otherwise commit. Ends
        (releases) the previous claim, whose records' outcomes are committed by now."""
        self.release_claim(commit=False)
        fresh = [
            (kind, cid)
            for kind, cid in refs
            if (rec := self.known[kind].get(cid)) is None
            or (rec.reckon_id is None and rec.attempted_at is None)
        ]
        if fresh:
            self.claim = SyncClaim(clinic_id=self.clinic.id, refs=[f"{k}:{c}" for k, c in fresh])
            db.session.add(self.claim)
            self.claimed = set(fresh)
        self.checkpoint()

    def release_claim(self, commit: bool = True) -> None:
        """The claimed records' outcomes are committed: the claim is no longer needed."""
        if self.claim is None and not self.own_claims:
            self.claimed = set()
            return
        if self.claim is not None:
            db.session.delete(self.claim)
            self.claim = None
        if self.own_claims:
            db.session.execute(delete(SyncClaim).where(SyncClaim.id.in_(self.own_claims)))
            self.own_claims = []
        if commit:
            self.checkpoint()
        self.claimed = set()

    def _claim_one(self, rec: SyncRecord) -> None:
        """The checkpoint of a create no chunk claimed (a credit note, an item told apart by
        its name on a second try): on PostgreSQL a claim of that one record committed in a
        transaction of its own, which leaves the run's pending work (and its commit) to the
        next batch of outcomes; elsewhere, and if that cannot be written, the run's own
        commit."""
        if db.engine.dialect.name != "postgresql":
            self.checkpoint()
            return
        row = {
            "clinic_id": self.clinic.id,
            "refs": [f"{rec.kind}:{rec.cliniko_id}"],
            "created_at": utcnow(),
        }
        try:
            with db.engine.begin() as own:
                claim_id = own.execute(
                    insert(SyncClaim).values(**row).returning(SyncClaim.id)
                ).scalar_one()
        except OperationalError:
            self.checkpoint()
            return
        self.own_claims.append(claim_id)

    def _settle_claims(self) -> None:
        """A claim left by a run that died: its records may be in Reckon, so each is marked as
        attempted (looked up by reference before any create), then the claim is dropped."""
        claims = list(db.session.scalars(owned(SyncClaim, self.clinic)))
        for claim in claims:
            for ref in claim.refs:
                kind, _, cliniko_id = ref.partition(":")
                rec = self.record(kind, cliniko_id)
                if rec.reckon_id is None and rec.attempted_at is None:
                    rec.attempted_at = claim.created_at
            db.session.delete(claim)
        if claims:
            self.checkpoint()

    @property
    def items(self) -> dict[str, SyncRecord]:
        return self.known[EntityKind.ITEM]

    @property
    def customers(self) -> dict[str, SyncRecord]:
        return self.known[EntityKind.CUSTOMER]

    def zone(self, business_id: str | None = None) -> ZoneInfo:
        """The business's time zone (an account may span zones), else the clinic's."""
        return ZoneInfo(self.business_zones.get(business_id or "") or self.clinic.timezone)

    def local_date(self, moment: datetime | None, business_id: str | None = None) -> date | None:
        return moment.astimezone(self.zone(business_id)).date() if moment else None

    def push(self, rec: SyncRecord, push: Push, action: str | None = None) -> str:
        result = self._push(rec, push, action, later=False)
        assert isinstance(result, str)
        return result

    def push_later(self, rec: SyncRecord, push: Push, action: str | None = None) -> str | Later:
        """`push`, with the call on the run's writer threads when it needs no checkpoint (an
        update, or a create the run has claimed): the record's last write, whose handler has
        nothing more to do with what Reckon answers. Its closures must read no database row."""
        return self._push(rec, push, action, later=True)

    def _push(self, rec: SyncRecord, push: Push, action: str | None, later: bool) -> str | Later:
        digest = m.payload_hash(push.body)
        if self.dry:
            return self._would(rec, digest, action)
        claimed = (rec.kind, rec.cliniko_id) in self.claimed
        self.claimed.discard((rec.kind, rec.cliniko_id))  # a second push checkpoints as usual
        if later and self.writer is not None and (rec.reckon_id or claimed):
            return push_later(rec, push, digest, self.breaker, self.writer)
        checkpoint = _claimed if claimed else lambda: self._claim_one(rec)
        return push_record(rec, push, digest, self.breaker, checkpoint)

    def _would(self, rec: SyncRecord, digest: str, action: str | None) -> str:
        if rec.reckon_id and rec.pushed_hash == digest and rec.state == SyncState.SYNCED:
            self.plan.actions[f"{rec.kind} unchanged"] += 1
            raise Unchanged("Unchanged since the last sync.")
        verb = action or ("update" if rec.reckon_id else "create")
        rec.reckon_id = rec.reckon_id or f"(new {rec.kind})"
        rec.pushed_hash, rec.state = digest, SyncState.SYNCED
        self.plan.actions[f"{rec.kind} {verb}"] += 1
        return f"Would {verb} {rec.kind.replace('_', ' ')} {rec.label or rec.cliniko_id}."

    def record(self, kind: str, cliniko_id: str, **defaults: Any) -> SyncRecord:
        """The cross-reference of a Cliniko record: the loaded one, else a new (pending) one."""
        known = self.known[kind]
        rec = known.get(cliniko_id)
        if rec is None or (not self.dry and inspect(rec).transient):  # new, or rolled back
            rec = known[cliniko_id] = new_sync_record(self.clinic, kind, cliniko_id, self.dry)
        for name, value in defaults.items():
            setattr(rec, name, value)
        return rec


def _claimed() -> None:
    """The checkpoint of a claimed record: its claim is committed already."""


def id_of(found: Any) -> str | None:
    return found.id if found else None


def steps(*writes: Callable[[], str | None]) -> str:
    """Several writes for one record (an invoice and its credit note): what each did, or
    Unchanged when none wrote anything."""
    done = []
    for write in writes:
        try:
            message = write()
        except Unchanged:
            continue
        if message:
            done.append(message)
    if not done:
        raise Unchanged("Unchanged since the last sync.")
    return " ".join(done)


# ---- items -----------------------------------------------------------------------------------
def sync_item(env: SyncEnv, key: str, item: BillableItem | Product | None) -> str:
    """A product or billable item → a Reckon item (found by its item code). Voucher codes share
    one item (`sync_voucher_item`): an older per-code item is made Inactive."""
    if key == VOUCHER_ITEM_KEY or item is None:
        return sync_voucher_item(env)
    if m.item_kind(item) == "voucher":
        return _retire_voucher_item(env, key)
    body = m.item_body(env.settings, key, item)
    rec = env.record(EntityKind.ITEM, key, label=item.name[:200])
    told_apart = {**body, "name": f"{body['name'][:90]} [{key}]"}
    if (rec.details or {}).get("name_told_apart"):  # as sent last time, so unchanged is unchanged
        return env.push(rec, _item_push(env, told_apart))
    try:
        return env.push(rec, _item_push(env, body))
    except ValidationError as exc:
        if "name" not in exc.fields or body["name"].endswith("]"):
            raise
    # Reckon names are unique: a product and a service may share one in Cliniko.
    rec.details = {**(rec.details or {}), "name_told_apart": True}
    return env.push(rec, _item_push(env, told_apart))


def sync_voucher_item(env: SyncEnv) -> str:
    """The one "Gift voucher" item every voucher line uses (the code goes in the description)."""
    rec = env.record(EntityKind.ITEM, VOUCHER_ITEM_KEY, label="Gift voucher")
    return env.push(rec, _item_push(env, m.voucher_item_body(env.settings)))


def _retire_voucher_item(env: SyncEnv, key: str) -> str:
    rec = env.known[EntityKind.ITEM].get(key)
    if rec is None or not rec.reckon_id:
        raise Unchanged("Voucher codes use the one Gift voucher item in Reckon.")
    book, reckon_id = env.book_id, rec.reckon_id
    push = Push(
        {"status": "Inactive"},
        find=lambda: reckon_id,
        create=lambda: reckon_id,
        update=lambda rid: env.reckon.update_item(book, rid, status="Inactive"),
    )
    return env.push(rec, push, "retire")


def _item_push(env: SyncEnv, body: dict[str, Any]) -> Push:
    book, code = env.book_id, body["item_code"]
    sale = {k: body[k] for k in ("price",)} | {
        "taxRate": body["tax_rate"],
        "ledgerAccount": body["ledger_account"],
    }

    def update(reckon_id: str) -> None:
        env.reckon.update_item(
            book,
            reckon_id,
            name=body["name"],
            itemType=body["item_type"],
            amountTaxStatus=body["amount_tax_status"],
            sale=sale,
        )

    return Push(
        body,
        find=lambda: id_of(env.reckon.find_item_by_code(book, code)),
        create=lambda: env.reckon.create_item(book, **body),
        update=update,
    )
