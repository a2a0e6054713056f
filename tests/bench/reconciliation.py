"""Reconciliation benchmark: a 100k-row export with ~5k voucher rows, planned and applied.

Run: .venv/bin/python -m tests.bench.reconciliation [--rows 100000 --vouchers 5000]
                                                    [--rate-window 60] [--plan-only]
                                                    [--other-vouchers 95000]
Prints plan time, the worker's peak memory, upstream calls per redeemed voucher, and apply time
against the lower bound Cliniko's rate limit sets: 200 requests per --rate-window seconds, in
the sandbox and the client alike. The default, 60 s, is Cliniko's documented limit (the sandbox's
own), so 5k used-up vouchers take at least 24 minutes. A smaller window compresses time to see
where the worker itself becomes the limit: it also prints the worker's CPU per voucher.

`--plan-only` stops after the plan and prints its floor: the time to parse the export alone
(every row read and split into its cells, nothing stored), beside the plan's own wall and CPU
time. `--other-vouchers N` first gives another clinic N vouchers, to show that one clinic's plan
does not slow with the rest of the table.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import requests
from rq import SimpleWorker

from portal import create_app
from portal.clients import cliniko as cliniko_module
from portal.clients.ratelimit import RateLimit
from portal.demo.seed import seed_demo
from portal.extensions import db, get_redis
from portal.jobs.queue import worker_queues
from portal.jobs.start import start_run
from portal.models import Clinic, Provider, User, Voucher
from portal.models.reconciliation import ReconciliationBatch
from portal.services.connections import cliniko as cliniko_conn
from portal.services.connections import records
from portal.services.connections import vaocherapp as vaocher_conn
from portal.services.reconciliation.batches import approve_batch, create_batch
from portal.services.reconciliation.export_reader import ExportFormat, iter_rows
from tests.bench.common import redis_server
from tests.fixtures.portal import free_port

CLINIKO_LIMIT = 200
HEADERS = [
    "Invoice Number",
    "Issue Date",
    "Item",
    "Item Code",
    "Quantity",
    "Total",
    "Invoice Item ID",
]


def _export(path: Path, rows: int, codes: list[str]) -> None:
    """Treatment rows, with one voucher row per voucher spread through the file."""
    step = max(1, rows // max(1, len(codes)))
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for n in range(rows):
            if n % step == 0 and n // step < len(codes):
                code = codes[n // step]
                writer.writerow(
                    [
                        10_000 + n,
                        "2030-01-02",
                        f"Gift voucher {code}",
                        code,
                        1,
                        "-50.00",
                        900_000 + n,
                    ]
                )
            else:
                writer.writerow(
                    [10_000 + n, "2030-01-02", "Consultation", "PHY-C", 1, "95.00", 900_000 + n]
                )


def _sandbox() -> tuple[str, subprocess.Popen[bytes]]:
    """The sandbox in its own process, as in production the upstreams are not in the worker:
    the worker's memory and CPU are then the worker's own."""
    port = free_port()
    argv = [sys.executable, "-m", "portal.sandbox", "--port", str(port), "--seed", "1", "--quiet"]
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{url}/_sandbox/state", timeout=1).raise_for_status()
            return url, proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def _sell(url: str, clinic: dict, count: int) -> list[str]:
    key = clinic["vaocherapp"]["api_key"]
    codes = [f"BENCH{n:05d}" for n in range(count)]
    for code in codes:
        requests.post(
            f"{url}/_sandbox/vaocherapp/purchase",
            json={
                "api_key": key,
                "value": 5000,
                "purchaser_name": "B",
                "purchaser_email": "b@x.io",
                "code": code,
            },
            timeout=10,
        ).raise_for_status()
    return codes


def _worker() -> None:
    SimpleWorker(worker_queues(), connection=get_redis()).work(burst=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--vouchers", type=int, default=5_000)
    parser.add_argument("--rate-window", type=float, default=60.0)
    parser.add_argument("--plan-only", action="store_true", help="stop after the plan")
    parser.add_argument("--other-vouchers", type=int, default=0, help="another clinic's vouchers")
    args = parser.parse_args()
    url, sandbox = _sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp_name, redis_server(Path(tmp_name)) as redis_url:
            _bench(url, sandbox.pid, Path(tmp_name), redis_url, args)
    finally:
        sandbox.terminate()


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by this process, or by the process `pid`."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cliniko_limit(url: str, limit: int, window: float) -> RateLimit:
    """Set the sandbox's Cliniko rate limit; the client is given the same one."""
    requests.post(
        f"{url}/_sandbox/ratelimits",
        json={"cliniko": {"limit": limit, "window_seconds": window}},
        timeout=5,
    ).raise_for_status()
    return RateLimit(limit, window)


def _other_clinic_vouchers(count: int) -> None:
    """Another clinic's vouchers, straight into the table (how they got there does not matter)."""
    other = db.session.scalar(db.select(Clinic).where(Clinic.slug == "manly-allied"))
    assert other is not None
    rows = [
        {
            "clinic_id": other.id,
            "code": f"OTHER{n:07d}",
            "value_cents": 5000,
            "balance_cents": 5000,
            "status": "active",
            "cliniko_billable_item_id": str(50_000_000 + n),
        }
        for n in range(count)
    ]
    for start in range(0, len(rows), 10_000):
        db.session.execute(db.insert(Voucher), rows[start : start + 10_000])
    db.session.commit()


def _parse_floor(batch: ReconciliationBatch) -> tuple[float, int]:
    """Seconds to read every row of the export into its cells and nothing else: the floor."""
    fmt = ExportFormat(batch.encoding, batch.delimiter, list(batch.headers))
    began, rows = time.monotonic(), 0
    for _ in iter_rows(Path(batch.stored_path), fmt, batch.mapping):
        rows += 1
    return time.monotonic() - began, rows


def _plan_figures(url: str, batch_id: int, seconds: float, cpu: float) -> None:
    batch = db.session.get(ReconciliationBatch, batch_id)
    assert batch is not None
    floor, rows = _parse_floor(batch)
    log = requests.get(f"{url}/_sandbox/requests", timeout=30).json()["requests"]
    reads = sum(1 for r in log if r["upstream"] == "vaocherapp")
    print(f"rows: {rows:,}  totals: {batch.totals}")
    print(f"floor (parsing the export alone): {floor:.2f} s")
    print(
        f"plan: {seconds:.2f} s wall, {cpu:.2f} s worker CPU "
        f"({seconds / floor if floor else float('nan'):.1f}x the floor); "
        f"VaocherApp reads: {reads}"
    )


def _bench(url: str, sandbox_pid: int, tmp: Path, redis_url: str, args: argparse.Namespace) -> None:
    # Setting up (the billable items the voucher feature would have made) is not measured.
    limits = {"rate": _cliniko_limit(url, 1_000_000, 1)}
    original = cliniko_conn.cliniko_client

    def cliniko_client(conn):  # the same client, limited like the sandbox
        client = original(conn)
        limiter = cliniko_module.shared_limiter("Cliniko-bench", "k", limits["rate"])
        client._http.limiter = limiter
        return client

    cliniko_conn.cliniko_client = cliniko_client
    import portal.services.reconciliation.apply as apply_module

    apply_module.cliniko_client = cliniko_client
    app = create_app(
        {
            "MODE": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
            "REDIS_URL": redis_url,
            "VAOCHERAPP_BASE_URL": f"{url}/vaocherapp/v1",
            "CLINIKO_BASE_URL_TEMPLATE": f"{url}/cliniko/{{shard}}/v1",
            "RECONCILIATION_UPLOAD_DIR": str(tmp / "uploads"),
        }
    )
    with app.app_context(), app.test_request_context():
        db.create_all()
        seed_demo()
        db.session.commit()
        state = requests.get(f"{url}/_sandbox/state", timeout=5).json()
        account = next(c for c in state["clinics"] if c["name"] == "Bondi Physio")
        clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == "bondi-physio"))
        user = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
        cliniko_conn.link_cliniko(clinic, user, account["cliniko"]["api_key"])
        vaocher_conn.link_vaocherapp(clinic, user, account["vaocherapp"]["api_key"], False)
        codes = _sell(url, account, args.vouchers)
        cliniko = cliniko_conn.cliniko_client(records.connection_or_none(clinic, Provider.CLINIKO))
        for code in codes:  # provisioned, as the voucher feature leaves them
            item = cliniko.create_billable_item(f"Gift voucher {code}", code, "Other", Decimal(-50))
            voucher = Voucher(
                clinic_id=clinic.id,
                code=code,
                value_cents=5000,
                balance_cents=5000,
                cliniko_billable_item_id=item.id,
                purchaser_name="B",
                purchaser_email="b@x.io",
            )
            voucher.refresh_search_text()  # searchable, as the voucher feature leaves it
            db.session.add(voucher)
        db.session.commit()
        if args.other_vouchers:
            _other_clinic_vouchers(args.other_vouchers)
            print(f"another clinic holds {args.other_vouchers:,} vouchers")
        export = tmp / "export.csv"
        _export(export, args.rows, codes)
        with export.open("rb") as stream:
            batch = create_batch(clinic, user, "bench.csv", stream)
        db.session.commit()
        requests.delete(f"{url}/_sandbox/requests", timeout=5)
        batch_id = batch.id
        start_run(clinic, user, "reconciliation.plan", {"batch_id": batch_id})
        began, plan_cpu = time.monotonic(), _cpu_seconds()
        _worker()
        plan_seconds, plan_cpu = time.monotonic() - began, _cpu_seconds() - plan_cpu
        if args.plan_only:
            _plan_figures(url, batch_id, plan_seconds, plan_cpu)
            return
        planned = db.session.get(ReconciliationBatch, batch_id)
        assert planned is not None
        approve_batch(planned, user)
        db.session.commit()
        limits["rate"] = _cliniko_limit(url, CLINIKO_LIMIT, args.rate_window)
        time.sleep(args.rate_window)  # a fresh rate-limit window, so the bound is fair
        start_run(clinic, user, "reconciliation.apply", {"batch_id": batch_id})
        began, cpu, upstream_cpu = time.monotonic(), _cpu_seconds(), _cpu_seconds(sandbox_pid)
        _worker()
        apply_seconds = time.monotonic() - began
        cpu, upstream_cpu = _cpu_seconds() - cpu, _cpu_seconds(sandbox_pid) - upstream_cpu
        log = requests.get(f"{url}/_sandbox/requests", timeout=30).json()["requests"]
        applied = db.session.get(ReconciliationBatch, batch_id)
        assert applied is not None
        totals = applied.totals
    redeemed = sum(1 for r in log if r["path"].endswith("/redeem") and r["status"] == 200)
    cliniko_writes = sum(1 for r in log if r["upstream"] == "cliniko" and r["method"] != "GET")
    apply_calls = sum(1 for r in log if r["method"] != "GET" or "/redeem" in r["path"])
    bound = max(0, cliniko_writes - CLINIKO_LIMIT) / CLINIKO_LIMIT * args.rate_window
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"export rows: {args.rows:,}  voucher rows: {len(codes):,}  totals: {totals}")
    print(f"plan time: {plan_seconds:.1f} s")
    print(f"peak worker memory (bench process: plan + apply, RSS): {peak_mb:.0f} MB")
    per = max(1, redeemed)
    print(f"upstream calls, plan + apply: {len(log):,} = {len(log) / per:.3f} per redeemed voucher")
    print(
        f"upstream calls in apply: {apply_calls:,} = {apply_calls / per:.3f} per redeemed voucher"
    )
    print(
        f"apply time: {apply_seconds:.1f} s; rate-limit lower bound: {bound:.1f} s "
        f"(Cliniko {CLINIKO_LIMIT} per {args.rate_window:g} s, {cliniko_writes:,} writes) → "
        f"{apply_seconds / bound if bound else float('nan'):.2f}x"
    )

    print(
        f"CPU during apply: worker {cpu:.1f} s ({cpu / per * 1000:.1f} ms per voucher), "
        f"sandbox upstreams {upstream_cpu:.1f} s ({upstream_cpu / per * 1000:.1f} ms per voucher)"
    )


if __name__ == "__main__":
    main()
