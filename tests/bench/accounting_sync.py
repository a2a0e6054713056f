"""Benchmark: a full accounting sync of one clinic, then a second run that should write nothing.

    .venv/bin/python -m tests.bench.accounting_sync [--scale 1500] [--approval-process]

Starts its own Redis, sandbox (over HTTP on loopback) and SQLite database. At --scale N the
sandbox seeds each clinic with about 25N patients and 20N invoices (--scale 1500 is 30k invoices
per clinic; building it takes a while). Prints upstream calls per record, wall time against the
Cliniko rate-limit bound (200 requests/minute), and the Reckon writes made by the second run.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from flask_migrate import upgrade
from rq import SimpleWorker
from werkzeug.serving import make_server

from portal import create_app
from portal.demo.links import link_demo_clinics
from portal.demo.seed import seed_demo
from portal.extensions import db, get_redis
from portal.jobs.queue import worker_queues
from portal.jobs.start import start_run
from portal.models import Clinic, JobRun, SyncRecord, User
from portal.models.accounting import AccountingPreview, MismatchLine, MismatchReport
from portal.sandbox.app import create_app as create_sandbox
from portal.services.accounting.preview import approve_preview
from portal.services.accounting.setup import book_options, save_settings
from tests.accounting_helpers import DEFAULTS
from tests.bench.common import redis_server

CLINIC = "Manly Allied Health"  # linked by the demo seeding (Bondi is left for people to link)
CLINIKO_PER_MINUTE = 200
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _sandbox(scale: int) -> tuple[Any, Any, str]:
    started = time.monotonic()
    app = create_sandbox(seed=1, scale=scale)
    print(f"sandbox seeded at scale {scale} in {time.monotonic() - started:.1f}s")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def _portal(tmp: Path, redis_url: str, sandbox_url: str) -> Any:
    reckon_app = requests.get(f"{sandbox_url}/_sandbox/state", timeout=10).json()["reckon_app"]
    return create_app(
        {
            "MODE": "demo",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
            "REDIS_URL": redis_url,
            "SANDBOX_URL": sandbox_url,
            "CLINIKO_BASE_URL_TEMPLATE": f"{sandbox_url}/cliniko/{{shard}}/v1",
            "VAOCHERAPP_BASE_URL": f"{sandbox_url}/vaocherapp/v1",
            "RECKON_IDENTITY_URL": f"{sandbox_url}/reckon-identity",
            "RECKON_API_URL": f"{sandbox_url}/reckon/r1/v2",
            "SECRET_KEY": "bench",
            "ENCRYPTION_KEYS": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=",
            "RECKON_CLIENT_ID": reckon_app["client_id"],
            "RECKON_CLIENT_SECRET": reckon_app["client_secret"],
            "RECKON_SUBSCRIPTION_KEY": reckon_app["subscription_key"],
        }
    )


def _run(
    clinic: Clinic, params: dict[str, Any], kind: str = "accounting.sync"
) -> tuple[JobRun, float]:
    started = time.monotonic()
    run = start_run(clinic, None, kind, params)
    SimpleWorker(worker_queues(), connection=get_redis()).work(burst=True)
    db.session.expire_all()
    fresh = db.session.get(JobRun, run.id)
    assert fresh is not None
    return fresh, time.monotonic() - started


def _calls(sandbox: Any, since: int) -> tuple[Counter[str], int, int]:
    entries = sandbox.extensions["sandbox"].requests.entries(since=since)
    by = Counter(e["upstream"] for e in entries)
    writes = sum(1 for e in entries if e["upstream"] == "reckon" and e["method"] in WRITES)
    return by, writes, max((e["seq"] for e in entries), default=since)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1500)
    parser.add_argument(
        "--reckon-latency-ms", type=int, default=0, help="added to each Reckon call of the sync"
    )
    parser.add_argument(
        "--writes-in-flight", type=int, default=0, help="ACCOUNTING_WRITES_IN_FLIGHT (0: default)"
    )
    parser.add_argument(
        "--approval-process",
        action="store_true",
        help="the Reckon book has the approval process on: each invoice is created, then approved",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sandbox, server, url = _sandbox(args.scale)
        for reckon_book in sandbox.extensions["sandbox"].reckon.books.values():
            reckon_book.invoice_approval = args.approval_process
        try:
            with redis_server(tmp) as redis_url:
                app = _portal(tmp, redis_url, url)
                app.config["ACCOUNTING_WRITES_IN_FLIGHT"] = args.writes_in_flight
                _bench(sandbox, app, url, args.reckon_latency_ms)
        finally:
            server.shutdown()


def _bench(sandbox: Any, app: Any, url: str, latency_ms: int) -> None:
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        link_demo_clinics("http://127.0.0.1:9")
        db.session.commit()
        clinic = db.session.scalar(db.select(Clinic).where(Clinic.name == CLINIC))
        actor = db.session.scalar(db.select(User).where(User.email == "demo@example.com"))
        save_settings(clinic, actor, dict(DEFAULTS), book_options(clinic))
        db.session.commit()
        backfill, seconds = _run(clinic, {}, "vouchers.backfill")  # the vouchers the portal knows
        print(f"voucher import: {backfill.status} in {seconds:.1f}s")
        _, _, seq = _calls(sandbox, 0)
        preview, seconds = _run(clinic, {}, "accounting.preview")
        calls, writes, seq = _calls(sandbox, seq)
        row = db.session.scalar(db.select(AccountingPreview).order_by(AccountingPreview.id.desc()))
        assert row is not None
        print(
            f"preview (dry run): {preview.status} in {seconds:.1f}s, calls {dict(calls)}, ", end=""
        )
        print(f"Reckon writes {writes}; would write {row.summary.get('writes')}")
        approve_preview(clinic, actor, row)
        db.session.commit()
        faults = f"{url}/_sandbox/faults"
        if latency_ms:
            slow = {"upstream": "reckon", "latency_ms": latency_ms}
            requests.post(faults, json=slow, timeout=10).raise_for_status()
        first, seconds = _run(clinic, {"full": True})
        requests.delete(faults, timeout=10).raise_for_status()
        calls, writes, seq = _calls(sandbox, seq)
        writers = app.config["ACCOUNTING_WRITES_IN_FLIGHT"] or "default"
        print(f"first run with Reckon latency {latency_ms} ms, writes in flight {writers}")
        kinds = Counter(db.session.scalars(db.select(SyncRecord.kind)))
        records = sum(kinds.values())
        bound = calls["cliniko"] / CLINIKO_PER_MINUTE * 60
        print(f"first run: {first.status} — {first.message}")
        print(f"records: {dict(kinds)} ({records} in all)")
        print(f"upstream calls: {dict(calls)}; Reckon writes {writes}")
        print(f"calls per record: {sum(calls.values()) / max(records, 1):.2f} ", end="")
        print(f"(Cliniko {calls['cliniko'] / max(records, 1):.3f}, ", end="")
        print(f"Reckon {calls['reckon'] / max(records, 1):.2f})")
        print(f"wall time {seconds:.1f}s; Cliniko rate-limit bound {bound:.1f}s at 200/min")
        second, seconds = _run(clinic, {})
        calls, writes, _ = _calls(sandbox, seq)
        print(f"second run: {second.status} in {seconds:.1f}s, calls {dict(calls)}, ", end="")
        print(f"Reckon writes {writes}")
        _check_books(clinic)


def _check_books(clinic: Clinic) -> None:
    """The mismatch report over every seeded invoice: the books should agree after the sync."""
    run, seconds = _run(clinic, {"start": "2000-01-01", "end": "2100-01-01"}, "accounting.report")
    report = db.session.scalar(db.select(MismatchReport).where(MismatchReport.run_id == run.id))
    assert report is not None
    kinds = Counter(
        db.session.scalars(db.select(MismatchLine.kind).where(MismatchLine.report_id == report.id))
    )
    months = report.summary["totals"]
    differ = [r for r in months if r["differs"]]
    print(f"mismatch report (every invoice): {run.status} in {seconds:.1f}s; ", end="")
    print(
        f"{report.summary['cliniko_invoices']} Cliniko / {report.summary['reckon_invoices']} ",
        end="",
    )
    print(f"Reckon invoices; differences {dict(kinds) or 0}; ", end="")
    print(f"{len(months) - len(differ)} of {len(months)} (month, tax code) totals equal")


if __name__ == "__main__":
    main()
