"""Voucher jobs: webhook intake, provisioning into Cliniko, and the backfill from VaocherApp."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import JobRun, JobStatus, Voucher, WebhookDelivery
from portal.services.connections.records import NotLinked
from portal.services.formats import money_text
from portal.services.problems.state import StateGroup
from portal.services.vouchers.provisioning import provision_voucher
from portal.services.vouchers.records import remote_vouchers, upsert_voucher
from portal.services.vouchers.webhook_intake import (
    INTAKE,
    deliveries_arrived_since,
    pending_deliveries,
    process_delivery,
)
from portal.tenancy import owned

from .context import ItemSkipped, RunContext, WorkItem
from .kind import FollowUp, JobKind

PROVISION = "vouchers.provision"
# Cliniko hiccups are retried by the client; these waits cover longer outages.
PROVISION_RETRY_DELAYS = (30.0, 120.0, 600.0)


def _unprovisioned_exist(clinic_id: int, since: datetime | None = None) -> bool:
    stmt = select(Voucher.id).where(
        Voucher.clinic_id == clinic_id,
        Voucher.status == "active",
        Voucher.cliniko_billable_item_id.is_(None),
        Voucher.test_mode.is_(False),
    )
    if since is not None:
        stmt = stmt.where(Voucher.created_at >= since)
    return db.session.scalar(stmt.limit(1)) is not None


def _unprovisioned(run: JobRun) -> bool:
    return _unprovisioned_exist(run.clinic_id)


def _new_deliveries(run: JobRun) -> bool:
    """Work that arrived while the run went on (not work it tried, which would loop)."""
    since = run.started_at or run.created_at
    return run.status != JobStatus.CANCELLED and deliveries_arrived_since(run.clinic_id, since)


def _new_vouchers(run: JobRun) -> bool:
    since = run.started_at or run.created_at
    return run.status != JobStatus.CANCELLED and _unprovisioned_exist(run.clinic_id, since)


def run_intake(ctx: RunContext) -> None:
    deliveries = pending_deliveries(ctx.clinic)
    items = [
        WorkItem(
            ref=f"delivery-{d.id}", label=f"{d.event or 'event'} {d.voucher_code}", payload=d.id
        )
        for d in deliveries
    ]

    def handle(item: WorkItem) -> str:
        delivery = db.session.get(WebhookDelivery, item.payload)
        assert delivery is not None
        voucher = process_delivery(ctx.clinic, delivery, ctx.run_id)
        return (
            f"Voucher {voucher.code}: {voucher.status}, balance {money_text(voucher.balance_cents)}"
        )

    ctx.process(items, handle)


def run_provisioning(ctx: RunContext) -> None:
    stmt = owned(Voucher, ctx.clinic).where(
        Voucher.status == "active", Voucher.test_mode.is_(False)
    )
    codes = ctx.params.get("codes")
    if codes:  # "re-provision" of chosen vouchers, even if they were provisioned before
        stmt = stmt.where(Voucher.code.in_(codes))
    elif not ctx.is_retry:
        stmt = stmt.where(Voucher.cliniko_billable_item_id.is_(None))
    vouchers = list(db.session.scalars(stmt.order_by(Voucher.id)))
    items = [WorkItem(ref=v.code, label=f"Voucher {v.code}", payload=v.id) for v in vouchers]

    def handle(item: WorkItem) -> str:
        voucher = db.session.get(Voucher, item.payload)
        assert voucher is not None
        try:
            return provision_voucher(ctx.clinic, voucher, ctx.run_id)
        except NotLinked as error:
            raise ItemSkipped(str(error)) from error

    ctx.process(items, handle)


def run_backfill(ctx: RunContext) -> None:
    remote, test_mode = remote_vouchers(ctx.clinic)
    items = [WorkItem(ref=v.code, label=f"Voucher {v.code}", payload=v) for v in remote]

    def handle(item: WorkItem) -> str:
        voucher, created = upsert_voucher(
            ctx.clinic, item.payload, test_mode=test_mode, run_id=ctx.run_id
        )
        return "New voucher." if created else f"Up to date: {voucher.status}."

    ctx.process(items, handle)


VOUCHER_STATES = frozenset({StateGroup.VOUCHERS})  # what voucher work changes; never records
# New vouchers are provisioned in Cliniko by a run of their own once they are recorded.
PROVISION_NEW = FollowUp(PROVISION, _unprovisioned)

INTAKE_KIND = JobKind(
    INTAKE,
    "Voucher webhooks",
    run_intake,
    follow_ups=(PROVISION_NEW, FollowUp(INTAKE, _new_deliveries)),
    interactive=True,
    changes=VOUCHER_STATES,
)
PROVISION_KIND = JobKind(
    PROVISION,
    "Provision vouchers in Cliniko",
    run_provisioning,
    retry_delays=PROVISION_RETRY_DELAYS,
    follow_ups=(FollowUp(PROVISION, _new_vouchers),),
    interactive=True,
    changes=VOUCHER_STATES,
)
BACKFILL_KIND = JobKind(
    "vouchers.backfill",
    "Import vouchers from VaocherApp",
    run_backfill,
    follow_ups=(PROVISION_NEW,),
    changes=VOUCHER_STATES,
)
