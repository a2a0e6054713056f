"""Patients → Reckon customers: match an existing customer before creating one, keep it aligned,
and let a person decide when several customers could be the patient.

Matching (clarifications, "Books that balance"): by email first, then by exact name. An email
match counts only when the name matches too, or when exactly one Cliniko patient has that
email; several candidates, or a candidate the rules do not allow, go to "needs a decision".
A customer already linked to another patient is never a candidate: two patients are never
merged into one customer.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from portal.clients.errors import ValidationError
from portal.clients.reckon_models import Customer
from portal.clients.reckon_transport import PER_PAGE
from portal.extensions import db
from portal.models import Clinic, EntityKind, SyncRecord, SyncState, User
from portal.services import DomainError
from portal.services.accounting import map as m
from portal.services.accounting.push import Later, Push
from portal.services.accounting.sync import SyncEnv
from portal.services.audit import record_event
from portal.tenancy import owned


class NeedsDecision(m.NeedsAction):
    """Several Reckon customers could be this patient: a person picks one or creates a new one."""


def _email(row: dict[str, Any]) -> str:
    return str(row.get("email") or "").strip().lower()


def count_emails(env: SyncEnv, rows: list[dict[str, Any]]) -> None:
    """How many patients have each email: the run's rows plus the patients already known."""
    seen: dict[str, str] = {}
    for rec in env.customers.values():
        email = str((rec.details or {}).get("email") or "")
        if email:
            seen[rec.cliniko_id] = email
    for row in rows:
        seen[str(row["id"])] = _email(row)
    env.emails.clear()
    env.emails.update(e for e in seen.values() if e)


def sync_customer(env: SyncEnv, row: dict[str, Any]) -> str | Later:
    """A patient → a Reckon customer: matched or created, then kept aligned."""
    patient_id = str(row["id"])
    rec = env.record(EntityKind.CUSTOMER, patient_id)
    rec.details = {**(rec.details or {}), "email": _email(row)}
    if rec.state == SyncState.NEEDS_DECISION:
        raise NeedsDecision(rec.message)
    if not rec.reckon_id and rec.attempted_at and not rec.details.get("create_new"):
        _recover(env, rec, row)  # a run died around its create (or its claim)
    if not rec.reckon_id and not rec.attempted_at and not rec.details.get("create_new"):
        _match(env, rec, row)
    if rec.details.get("matched"):
        name = str(rec.details.get("matched_name") or rec.label)
        return env.push_later(rec, _customer_push(env, rec, row, name), _action(rec))
    plain = m.customer_name(row, env.settings, taken=False)
    taken = env.names.setdefault(plain, patient_id) != patient_id
    if (rec.details or {}).get("name_told_apart"):  # as sent last time: no PATCH to rediscover it
        taken = True
    push = _customer_push(env, rec, row, m.customer_name(row, env.settings, taken))
    if taken:
        return env.push_later(rec, push)
    try:
        sent = env.push_later(rec, push)
    except ValidationError as exc:  # sent at once, and refused
        if "name" not in exc.fields:
            raise
        return _told_apart(env, rec, row)
    if not isinstance(sent, Later):
        return sent
    ahead = sent

    def finish(outcome: tuple[bool, Any]) -> str:  # back on the run's thread
        try:
            return ahead.finish(outcome)
        except ValidationError as exc:
            if "name" not in exc.fields:
                raise
        return _told_apart(env, rec, row)

    return Later(ahead.future, finish)


def _told_apart(env: SyncEnv, rec: SyncRecord, row: dict[str, Any]) -> str:
    """Someone in Reckon has the patient's plain name: theirs gets the distinguishing mark."""
    rec.details = {**rec.details, "name_told_apart": True}
    return env.push(rec, _customer_push(env, rec, row, m.customer_name(row, env.settings, True)))


BULK_MATCH_THRESHOLD = 50  # more new patients than this: read every customer once instead


class CustomerIndex:
    """Reckon's customers by email and by name, read once for a run that matches many."""

    def __init__(self, customers: list[Customer]) -> None:
        self.by_email: dict[str, list[Customer]] = {}
        self.by_name: dict[str, Customer] = {}
        for c in customers:
            for email in {e.strip().lower() for e in c.emails}:
                self.by_email.setdefault(email, []).append(c)
            self.by_name.setdefault(c.name, c)


def prepare_matching(env: SyncEnv, rows: list[dict[str, Any]]) -> None:
    """Patients not yet linked are matched against one read of the book's customers when that
    is cheaper than looking each one up (an email and a name search each): always for many
    patients; for a few, when the book's customers fit in as many pages as there are patients
    (else the lookups are used, after that many pages and one more read for nothing)."""
    new = [r for r in rows if not (env.customers.get(str(r["id"])) or _NEW).reckon_id]
    if len(new) > BULK_MATCH_THRESHOLD:
        env.customer_index = CustomerIndex(list(env.reckon.iter_customers(env.book_id)))
    elif new:
        most = len(new) * PER_PAGE
        customers = list(islice(env.reckon.iter_customers(env.book_id), most + 1))
        if len(customers) <= most:
            env.customer_index = CustomerIndex(customers)


class _New:
    reckon_id = None


_NEW = _New()


def _by_email(env: SyncEnv, email: str) -> list[Customer]:
    index = env.customer_index
    if isinstance(index, CustomerIndex):
        return list(index.by_email.get(email, []))
    return env.reckon.find_customers_by_email(env.book_id, email)


def _by_name(env: SyncEnv, name: str) -> Customer | None:
    index = env.customer_index
    if isinstance(index, CustomerIndex):
        return index.by_name.get(name)
    return env.reckon.find_customer_by_name(env.book_id, name)


def _someone_elses(env: SyncEnv, customer: Customer, patient_id: str) -> bool:
    """Another of the clinic's patients has this customer: it is linked to them, or its note
    says the portal made it for them (perhaps with that write's answer still on its way). Two
    patients are never merged into one customer. Read per candidate, not per patient."""
    note = customer.notes or ""
    if note.startswith(m.PATIENT_NOTE):
        owner = note.removeprefix(m.PATIENT_NOTE)
        if owner != patient_id and owner in env.customers:
            return True
    return any(
        r.reckon_id == customer.id and r.cliniko_id != patient_id for r in env.customers.values()
    )


def _match(env: SyncEnv, rec: SyncRecord, row: dict[str, Any]) -> None:
    """Link an existing customer, or send the patient to "needs a decision"."""
    name = m.customer_name(row, env.settings, taken=False).lower()
    email = _email(row)
    candidates: list[Customer] = []
    if email:
        by_email = _by_email(env, email)
        candidates = [c for c in by_email if not _someone_elses(env, c, rec.cliniko_id)]
        namesakes = [c for c in candidates if c.name.lower() == name]
        if len(namesakes) == 1 or (len(candidates) == 1 and env.emails[email] <= 1):
            return _link(rec, (namesakes or candidates)[0])
    if not candidates:
        found = _by_name(env, m.customer_name(row, env.settings, False))
        if (
            found is None
            or found.notes == f"{m.PATIENT_NOTE}{rec.cliniko_id}"
            or _someone_elses(env, found, rec.cliniko_id)
        ):
            return None  # nobody, ours already (a crashed create: found by the push), or taken
        if email and found.emails and email not in {e.lower() for e in found.emails}:
            candidates = [found]  # same name, another email: maybe someone else
        else:
            return _link(rec, found)
    rec.state = SyncState.NEEDS_DECISION
    rec.details = {
        **rec.details,
        "candidates": [{"id": c.id, "name": c.name, "emails": list(c.emails)} for c in candidates],
        "row": row,  # the next run pushes the decided patient without re-reading Cliniko
    }
    rec.message = (
        f"{len(candidates)} Reckon customer(s) could be this patient: pick one or create a new one."
    )
    # TODO(issue 13): raise a "needs a decision" problem here (kind accounting.customer_decision).
    raise NeedsDecision(rec.message)


def _recover(env: SyncEnv, rec: SyncRecord, row: dict[str, Any]) -> None:
    """After a run died, the patient's customer may be in Reckon: ours carries the patient's
    note under the plain or the told-apart name. Found, it is linked; not found, the patient is
    matched as if never sent (a claimed patient may never have been)."""
    marker = f"{m.PATIENT_NOTE}{rec.cliniko_id}"
    for taken in (False, True):
        found = env.reckon.find_customer_by_name(
            env.book_id, m.customer_name(row, env.settings, taken)
        )
        if found is not None and (found.notes or "") == marker:
            rec.reckon_id, rec.label = found.id, found.name
            return
    rec.attempted_at = None


def _link(rec: SyncRecord, customer: Customer) -> None:
    rec.reckon_id = customer.id
    rec.label = customer.name
    rec.details = {**rec.details, "matched": True, "matched_name": customer.name}


def _action(rec: SyncRecord) -> str | None:
    """What a preview calls the write: linking a customer the clinic already had, or not."""
    return "match" if rec.details.get("matched") and not rec.pushed_hash else None


def _customer_push(env: SyncEnv, rec: SyncRecord, row: dict[str, Any], name: str) -> Push:
    """The customer's write; its calls read no database row (they may run on another thread)."""
    fields = m.customer_fields(row)
    if rec.details.get("matched"):
        fields.pop("notes")  # a customer the clinic already had keeps its own notes
    rec.label = name
    book, marker = env.book_id, fields.get("notes")
    created = {k: v for k, v in fields.items() if v is not None}

    def find() -> str | None:
        found = env.reckon.find_customer_by_name(book, name)
        return found.id if found and (found.notes or "") == marker else None

    return Push(
        {"name": name, **fields},
        find=find,
        create=lambda: env.reckon.create_customer(book, name, **created),
        update=lambda rid: env.reckon.update_customer(book, rid, name=name, **fields),
    )


# ---- decisions (the Accounting page's "needs a decision" list) -------------------------------
def decisions(clinic: Clinic) -> list[SyncRecord]:
    """Patients waiting for a person to pick their Reckon customer."""
    stmt = owned(SyncRecord, clinic).where(
        SyncRecord.kind == EntityKind.CUSTOMER, SyncRecord.state == SyncState.NEEDS_DECISION
    )
    return list(db.session.scalars(stmt.order_by(SyncRecord.id)))


def decide_customer(clinic: Clinic, actor: User, rec: SyncRecord, choice: str) -> None:
    """`choice` is one of the candidates' ids, or "new" to create a customer for the patient."""
    if rec.kind != EntityKind.CUSTOMER or rec.state != SyncState.NEEDS_DECISION:
        raise DomainError("This patient no longer needs a decision.")
    candidates = {c["id"]: c for c in (rec.details or {}).get("candidates", [])}
    if choice == "new":
        rec.details = {**rec.details, "create_new": True}
    elif choice in candidates:
        if choice in {r.reckon_id for r in _all_linked(clinic) if r.id != rec.id}:
            raise DomainError("That customer is already another patient's: choose another.")
        rec.reckon_id = choice
        rec.label = candidates[choice]["name"]
        rec.details = {**rec.details, "matched": True, "matched_name": candidates[choice]["name"]}
    else:
        raise DomainError("Choose one of the listed customers, or create a new one.")
    rec.state, rec.message = SyncState.PENDING, ""
    db.session.flush()
    record_event(
        "accounting.customer_decision",
        actor,
        clinic=clinic,
        target=rec.cliniko_id,
        detail={"choice": choice},
    )


def _all_linked(clinic: Clinic) -> list[SyncRecord]:
    stmt = owned(SyncRecord, clinic).where(
        SyncRecord.kind == EntityKind.CUSTOMER, SyncRecord.reckon_id.is_not(None)
    )
    return list(db.session.scalars(stmt))
