"""Writes that outlive a failed request: committed at once, apart from the caller's transaction."""

from __future__ import annotations

import time

from portal.extensions import db
from portal.models import AuditEvent, LoginAttempt
from portal.services.accounts import record_failed_sign_in
from portal.services.audit import record_event


def _count(model, *where) -> int:
    with db.engine.connect() as conn:  # what is committed, whatever the session holds
        return int(conn.scalar(db.select(db.func.count()).select_from(model).where(*where)) or 0)


def test_a_failed_sign_in_stays_when_the_caller_rolls_back(app):
    db.session.add(AuditEvent(action="caller.pending", detail={}))  # the caller's, not flushed
    record_failed_sign_in("someone@example.com", "203.0.113.5")
    db.session.rollback()
    assert _count(LoginAttempt, LoginAttempt.email == "someone@example.com") == 1
    assert _count(AuditEvent, AuditEvent.action == "caller.pending") == 0


def test_a_caller_that_already_wrote_does_not_wait_for_itself(app):
    """On SQLite the caller's write holds the one write lock: the write goes through the caller
    at once rather than waiting out busy_timeout; on PostgreSQL it is committed on its own."""
    record_event("caller.wrote", None)  # flushed: the caller's transaction has begun writing
    started = time.monotonic()
    record_failed_sign_in("someone@example.com", "203.0.113.5")
    assert time.monotonic() - started < 5
    db.session.commit()
    assert _count(LoginAttempt, LoginAttempt.email == "someone@example.com") == 1
