"""Steps the reconciliation tests share: link Bondi Physio to the sandbox, upload, plan, apply."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import select

from portal.clients.cliniko import ClinikoClient
from portal.extensions import db
from portal.models import Clinic, Provider, Voucher
from portal.models.reconciliation import ReconciliationBatch, ReconciliationRow
from portal.services.connections.records import connection_or_none
from portal.services.connections.vaocherapp import vaocherapp_client
from portal.services.vouchers.records import upsert_voucher
from tests.fixtures.connections import sandbox_accounts

BONDI = "/c/bondi-physio"
REC = f"{BONDI}/reconciliation"


def link_bondi(app: Any, login: Any, post: Any, sandbox: Any, tmp_path: Any) -> dict[str, Any]:
    """Bondi Physio linked to its sandbox accounts, its vouchers known locally, as the manager."""
    accounts = sandbox_accounts(sandbox)
    app.config["RECONCILIATION_UPLOAD_DIR"] = str(tmp_path / "uploads")
    login("manager@example.com")
    assert post(f"{BONDI}/connections/cliniko", {"api_key": accounts["cliniko"]["api_key"]})
    assert post(f"{BONDI}/connections/vaocherapp", {"api_key": accounts["vaocherapp"]["api_key"]})
    sync_vouchers()
    return accounts


def bondi() -> Clinic:
    return db.session.scalar(select(Clinic).where(Clinic.slug == "bondi-physio"))


def sync_vouchers() -> None:
    """Local voucher rows, as the voucher sync would have made them."""
    clinic = bondi()
    client = vaocherapp_client(connection_or_none(clinic, Provider.VAOCHERAPP))
    for remote in client.iter_vouchers():
        upsert_voucher(clinic, remote)
    client.close()
    db.session.commit()


def export_csv(sandbox: Any, accounts: dict[str, Any], start: str = "", end: str = "") -> bytes:
    params = {"api_key": accounts["cliniko"]["api_key"], "from": start, "to": end}
    url = f"{sandbox.url}/_sandbox/cliniko/exports/invoice-items.csv"
    answer = requests.get(url, params={k: v for k, v in params.items() if v}, timeout=10)
    answer.raise_for_status()
    return answer.content


def upload(post: Any, data: bytes, name: str = "InvoiceItems.csv") -> Any:
    files = {"export": (io.BytesIO(data), name)}
    return post(f"{REC}/upload", files, content_type="multipart/form-data")


def latest_batch() -> ReconciliationBatch:
    db.session.expire_all()
    stmt = select(ReconciliationBatch).order_by(ReconciliationBatch.id.desc())
    return db.session.scalars(stmt).first()


def rows_by_code(batch: ReconciliationBatch) -> dict[str, list[ReconciliationRow]]:
    out: dict[str, list[ReconciliationRow]] = {}
    for row in db.session.scalars(
        select(ReconciliationRow)
        .where(ReconciliationRow.batch_id == batch.id)
        .order_by(ReconciliationRow.row_number)
    ):
        out.setdefault(row.code, []).append(row)
    return out


def plan(post: Any, run_worker: Any, data: bytes) -> ReconciliationBatch:
    response = upload(post, data)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    run_worker()
    batch = latest_batch()
    assert batch.status == "planned", batch.message
    return batch


def apply(post: Any, run_worker: Any, batch: ReconciliationBatch) -> ReconciliationBatch:
    response = post(f"{REC}/{batch.id}/approve", {"confirmed": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    run_worker()
    return latest_batch()


def voucher(code: str) -> Voucher:
    db.session.expire_all()
    return db.session.scalar(select(Voucher).where(Voucher.code == code))


def redeem_posts(sandbox: Any, code: str | None = None) -> list[dict[str, Any]]:
    """Redeem calls VaocherApp received (and answered), from the sandbox's request log."""
    log = sandbox.requests_log("vaocherapp")
    return [
        r
        for r in log
        if r["method"] == "POST"
        and r["path"].endswith("/redeem")
        and (code is None or f"/vouchers/{code}/" in r["path"])
    ]


def remote_balance(sandbox: Any, accounts: dict[str, Any], code: str) -> dict[str, Any]:
    url = f"{sandbox.url}/vaocherapp/v1/vouchers/{code}"
    headers = {"Authorization": f"Bearer {accounts['vaocherapp']['api_key']}"}
    return requests.get(url, headers=headers, timeout=5).json()


def voucher_on_three_visits(sandbox, linked, code: str) -> list[str]:
    """A $150 voucher whose item takes $50 a visit, invoiced on three days."""
    key = linked["vaocherapp"]["api_key"]
    sale = {"api_key": key, "value": 15000, "purchaser_name": "Ada", "purchaser_email": "a@x.io"}
    url = f"{sandbox.url}/_sandbox/vaocherapp/purchase"
    assert requests.post(url, json=sale | {"code": code}, timeout=5).status_code == 201
    cliniko = ClinikoClient(
        linked["cliniko"]["api_key"],
        app_name="tests",
        contact_email="t@example.com",
        base_url_template=f"{sandbox.url}/cliniko/{{shard}}/v1",
    )
    item = cliniko.create_billable_item(f"Gift voucher {code}", code, "Other", Decimal("-50"))
    patient = next(cliniko.iter_patients()).id
    cliniko.close()
    days = ["2030-01-10", "2030-02-10", "2030-03-10"]
    for day in days:
        invoice = {
            "api_key": linked["cliniko"]["api_key"],
            "patient_id": patient,
            "items": [{"billable_item_id": item.id}],
            "issue_date": day,
        }
        answer = requests.post(f"{sandbox.url}/_sandbox/cliniko/invoices", json=invoice, timeout=5)
        assert answer.status_code == 201, answer.text
    sync_vouchers()
    return days
