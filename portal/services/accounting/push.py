"""Push one record to Reckon through its cross-reference: skip unchanged, update in place, never
create twice.

A create is preceded by a checkpoint (`attempted_at` committed by the caller), so after a crash
between Reckon's 201 and our commit the next attempt finds the record by its reference first.
Items, customers, invoices, payments and voucher postings are claimed fifty at a time instead (one
commit, see `SyncEnv.claim_records`), other creates one at a time in a transaction of their own
on PostgreSQL (`SyncEnv._claim_one`): a claim left by a dead run marks them as attempted.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy import select

from portal.clients.errors import OutcomeUnknown, RateLimited, Unavailable, UpstreamError
from portal.extensions import db
from portal.models import Clinic, EntityKind, SyncRecord, SyncState
from portal.models.types import utcnow
from portal.services import DomainError
from portal.tenancy import owned

TRANSIENT = (Unavailable, RateLimited, OutcomeUnknown)
BREAKER_THRESHOLD = 3  # consecutive transient failures before we stop calling Reckon this run


class Unchanged(Exception):
    """What we would send equals what was last sent: nothing to write."""


class ReckonDown(DomainError):
    """Reckon is down or rate-limiting: the record stays pending for the scheduled retry."""


@dataclass
class Breaker:
    """Stops hammering Reckon once it is clearly down; later records stay pending untouched."""

    failures: int = 0
    last_error: str = ""
    tripped: bool = field(default=False)

    def check(self) -> None:
        if self.tripped:
            raise ReckonDown(f"Not sent: Reckon is unavailable ({self.last_error}). Kept pending.")

    def failed(self, exc: UpstreamError) -> None:
        self.failures, self.last_error = self.failures + 1, str(exc)
        self.tripped = self.failures >= BREAKER_THRESHOLD

    def succeeded(self) -> None:
        self.failures = 0


@dataclass
class Push:
    """How to reach one record in Reckon: find it by reference, create it, or update it."""

    body: Any
    find: Callable[[], str | None]
    create: Callable[[], str]
    update: Callable[[str], None] | None = None  # None: records Reckon cannot change (receipts)


def new_sync_record(clinic: Clinic, kind: str, cliniko_id: str, dry: bool = False) -> SyncRecord:
    """The cross-reference for a Cliniko record seen for the first time (pending); a preview's
    is never added to the session."""
    rec = SyncRecord(
        clinic_id=clinic.id, kind=kind, cliniko_id=cliniko_id, details={}, state=SyncState.PENDING
    )
    rec.reckon_id, rec.pushed_hash, rec.attempted_at = None, "", None
    rec.label, rec.reference, rec.message = "", "", ""
    if not dry:
        db.session.add(rec)
    return rec


def records_by_kind(clinic: Clinic) -> dict[str, dict[str, SyncRecord]]:
    """Every cross-reference of the clinic, by kind then Cliniko id (one query, for lookups in
    bulk); every kind is there, if only empty."""
    found: dict[str, dict[str, SyncRecord]] = {kind: {} for kind in EntityKind}
    for rec in db.session.scalars(owned(SyncRecord, clinic)):
        found.setdefault(rec.kind, {})[rec.cliniko_id] = rec
    return found


def push_record(
    rec: SyncRecord,
    push: Push,
    digest: str,
    breaker: Breaker,
    checkpoint: Callable[[], None],
) -> str:
    """Create or update `rec` in Reckon unless its hash is unchanged; returns what was done."""
    _check(rec, digest, breaker)
    try:
        done = _write(rec, push, checkpoint)
    except UpstreamError as exc:
        _failed(rec, breaker, exc)
    _succeeded(rec, breaker, digest)
    return done


@dataclass(frozen=True)
class Later:
    """A write under way on another thread. `future` gives (True, result) or (False, the
    error) and never raises; `finish(outcome)`, back on the run's thread, records it."""

    future: Future[tuple[bool, Any]]
    finish: Callable[[tuple[bool, Any]], str]


def push_later(
    rec: SyncRecord, push: Push, digest: str, breaker: Breaker, writer: Executor
) -> str | Later:
    """`push_record` for a write that needs no checkpoint (an update, or a create whose record
    the run has claimed): the call goes to `writer` and `rec` is updated when it is back. The
    calls touch no database, and nothing reads `rec` until then."""
    _check(rec, digest, breaker)
    if rec.reckon_id and push.update is None:  # nothing to call
        return push_record(rec, push, digest, breaker, lambda: None)
    if rec.reckon_id:
        update, reckon_id = push.update, rec.reckon_id
        assert update is not None
        done = "Updated in Reckon."

        def call() -> str:
            update(reckon_id)
            return reckon_id

    else:
        rec.attempted_at = utcnow()  # its claim is committed: after a crash it is looked up
        call, done = push.create, "Created in Reckon."

    def finish(outcome: tuple[bool, Any]) -> str:
        ok, value = outcome
        if not ok:
            if isinstance(value, UpstreamError):
                _failed(rec, breaker, value)
            raise value
        rec.reckon_id = value
        _succeeded(rec, breaker, digest)
        return done

    return Later(writer.submit(_outcome, call), finish)


def _outcome(call: Callable[[], str]) -> tuple[bool, Any]:
    try:
        return True, call()
    except Exception as exc:  # handed back to the run's thread, which records it
        return False, exc


def _check(rec: SyncRecord, digest: str, breaker: Breaker) -> None:
    if rec.reckon_id and rec.pushed_hash == digest and rec.state == SyncState.SYNCED:
        raise Unchanged("Unchanged since the last sync.")
    breaker.check()


def _failed(rec: SyncRecord, breaker: Breaker, exc: UpstreamError) -> NoReturn:
    if isinstance(exc, TRANSIENT):
        breaker.failed(exc)
        rec.state, rec.message = SyncState.PENDING, str(exc)
        raise ReckonDown(f"Kept pending: {exc}") from exc
    breaker.succeeded()  # Reckon answered; this record is the problem
    rec.state, rec.message = SyncState.FAILED, str(exc)
    raise exc


def _succeeded(rec: SyncRecord, breaker: Breaker, digest: str) -> None:
    breaker.succeeded()
    rec.pushed_hash, rec.pushed_at = digest, utcnow()
    rec.state, rec.message = SyncState.SYNCED, ""


def _write(rec: SyncRecord, push: Push, checkpoint: Callable[[], None]) -> str:
    if rec.reckon_id is None and rec.attempted_at is not None:
        rec.reckon_id = push.find()  # an earlier attempt may have reached Reckon
        if rec.reckon_id and push.update is None:
            return "Found the record an interrupted run had created."
    if rec.reckon_id:
        if push.update is None:
            return "Already in Reckon."
        push.update(rec.reckon_id)
        return "Updated in Reckon."
    rec.attempted_at = utcnow()
    checkpoint()  # durable before the create, so a crash after it is detected next time
    rec.reckon_id = push.create()
    return "Created in Reckon."


def pending_ids(clinic: Clinic, kind: str) -> list[str]:
    """Cliniko ids of records not yet synced (pending or failed), so nothing is forgotten."""
    stmt = select(SyncRecord.cliniko_id).where(
        SyncRecord.clinic_id == clinic.id,
        SyncRecord.kind == kind,
        SyncRecord.state.in_((SyncState.PENDING, SyncState.FAILED)),
    )
    return list(db.session.scalars(stmt))
