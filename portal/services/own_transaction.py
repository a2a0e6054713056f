"""Writes that must outlive the caller's transaction, each committed at once in its own.

A request that fails rolls back everything it wrote, and that is right, except for the few facts it
learned on the way: a failed sign-in (throttling counts them), a bad webhook signature or a forged
OAuth state (the audit trail), a refresh token Reckon just rotated (the old one no longer works).
Services that keep those write them here, on a separate connection, and say so in their names.

SQLite lets one connection write at a time. When the caller's own transaction has already written
(it holds that lock), a second connection would only wait for it (busy_timeout) and then fail, so
the write goes through the caller's transaction instead and lasts only if that commits; callers
make these writes before their own, and a warning is logged when they did not. On PostgreSQL a row
the caller has locked itself would make the second connection wait forever; a lock timeout turns
that into the same fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.extensions import db

T = TypeVar("T")
log = logging.getLogger(__name__)


def in_own_transaction(work: Callable[[Session], T]) -> T:
    """Run `work` with a session of its own and commit it at once; see the module docstring."""
    if _caller_holds_write_lock():
        return _through_caller(work)
    try:
        with Session(db.engine, expire_on_commit=False) as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL lock_timeout = '5s'"))
            return work(session)
    except OperationalError:
        log.warning("own transaction could not write; trying the caller's", exc_info=True)
        return _through_caller(work)


def _through_caller(work: Callable[[Session], T]) -> T:
    log.warning("writing through the caller's transaction: kept only if it commits")
    session = db.session()
    result = work(session)
    session.flush()
    return result


def _caller_holds_write_lock() -> bool:
    """SQLite: has the caller's transaction begun writing (the driver sends BEGIN only then)?"""
    session = db.session()
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return False
    driver_connection = session.connection().connection.dbapi_connection
    return bool(getattr(driver_connection, "in_transaction", False))
