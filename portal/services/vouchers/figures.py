"""The clinic page's voucher figures (outstanding liability, expiring soon), kept in Redis.

Summing every voucher of a clinic on each request costs a scan of the clinic's vouchers (100k
rows in a big clinic) per page view. The figures are cached per clinic and forgotten when any
of the clinic's vouchers changes: every change goes through the ORM, so a session that flushed a
voucher forgets its clinic's figures once it commits. "Expiring within 30 days" also moves with
the clock, so the cache lives at most FIGURES_TTL seconds.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from flask import has_app_context
from redis.exceptions import RedisError
from sqlalchemy import and_, event, func, select
from sqlalchemy.orm import Session

from portal.extensions import db, redis_holder
from portal.models import Clinic, Voucher
from portal.models.types import utcnow

log = logging.getLogger(__name__)
FIGURES_TTL = 300
_PENDING = "portal.voucher_clinics"  # session.info key: clinics whose vouchers this flush changed


def _key(clinic_id: int) -> str:
    return f"portal:figures:clinic:{clinic_id}"


def compute_figures(clinic: Clinic) -> dict[str, int]:
    """Outstanding liability (remaining balance of active vouchers) and soon-expiring count."""
    now = utcnow()
    active = and_(Voucher.clinic_id == clinic.id, Voucher.status == "active")
    soon = and_(active, Voucher.expires_at >= now, Voucher.expires_at <= now + timedelta(days=30))
    liability, expiring = db.session.execute(
        select(
            func.coalesce(func.sum(Voucher.balance_cents).filter(active), 0),
            func.count(Voucher.id).filter(soon),
        ).where(Voucher.clinic_id == clinic.id)
    ).one()
    return {"liability_cents": int(liability), "expiring_30": int(expiring)}


def voucher_figures(clinic: Clinic) -> dict[str, int]:
    """The figures from the cache, computed (and cached) when missing or when Redis is down."""
    redis = redis_holder.get_or_none()
    if redis is None:
        return compute_figures(clinic)
    try:
        cached: Any = redis.get(_key(clinic.id))
    except RedisError:
        return compute_figures(clinic)
    if cached:
        return dict(json.loads(cached))
    figures = compute_figures(clinic)
    try:
        redis.set(_key(clinic.id), json.dumps(figures), ex=FIGURES_TTL)
    except RedisError:
        log.warning("could not cache clinic %s's figures", clinic.id)
    return figures


def forget_figures(clinic_ids: set[int]) -> None:
    redis = redis_holder.get_or_none() if has_app_context() else None
    if redis is None or not clinic_ids:
        return
    try:
        redis.delete(*(_key(c) for c in clinic_ids))
    except RedisError:  # the TTL retires them in the end
        log.warning("could not forget figures of clinics %s", sorted(clinic_ids))


def _note_changed_vouchers(session: Session, _context: Any) -> None:
    changed = session.info.setdefault(_PENDING, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Voucher) and obj.clinic_id is not None:
            changed.add(obj.clinic_id)


def _forget_after_commit(session: Session) -> None:
    changed = session.info.pop(_PENDING, None)
    if changed:
        forget_figures(changed)


def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def watch_voucher_changes() -> None:
    """Forget a clinic's figures whenever a session commits a change to one of its vouchers
    (listeners on every session of the process; adding them twice is a no-op)."""
    for name, listener in (
        ("after_flush", _note_changed_vouchers),
        ("after_commit", _forget_after_commit),
        ("after_rollback", _drop_after_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
