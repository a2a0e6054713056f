"""Agency benchmark: N clinics' nightly syncs at the same minute on one PostgreSQL, one Redis
and W worker processes, with a stream of webhook purchases (interactive work) meanwhile.

Run: .venv/bin/python -m tests.bench.agency --clinics N --workers W [--rate-window S]
                                           [--scale K] [--purchase-every SECONDS]

Starts PostgreSQL (DATABASE_URL when given, else a throwaway cluster as .ci/run makes), one
Redis, the sandbox with N agency clinics (sandbox seed scale K, default 1) in its own process,
the Procfile's web process (it receives the webhooks) and W `worker.py` processes. Every clinic
is linked, configured and given a daily sync at the same minute; the scheduler's tick then
starts them all at once. Meanwhile a voucher is bought in a random clinic every
--purchase-every seconds; each one's latency is from the purchase to its voucher being recorded
in the portal (the webhook intake run, on the interactive queue).

Cliniko allows 200 requests per --rate-window seconds per key (60 is Cliniko's own limit; a
smaller window is a scaled clock, told to the sandbox and the portal's clients alike).

Figures: rate_bound is the slowest clinic's Cliniko bound for its own reads (its Cliniko calls
/ 200 x window); cpu_bound is the workers' CPU seconds / min(W, cores); ratio = wall /
max(rate_bound, cpu_bound); cpu_ms_per_record = worker CPU / records synced; a clinic is
starved when its sync started later than twice its fair share of the queue, i.e. than
2 x (its place in the queue // W + 1) x the mean sync's duration; errors counts syncs that did
not succeed and purchases never recorded; over_limit_windows counts, per credential, the
requests that opened a window holding more than the limit (from the sandbox's request log).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from flask_migrate import upgrade
from rq import Worker

from portal import create_app
from portal.demo.links import link_demo_clinics
from portal.extensions import db, get_redis
from portal.jobs.schedule_tick import start_due_runs
from portal.models import (
    AccountingPreview,
    AccountingSchedule,
    Agency,
    Clinic,
    JobRun,
    JobStatus,
    Membership,
    Role,
    SyncRecord,
    User,
    Voucher,
)
from portal.models.types import utcnow
from portal.services.accounting.preview import approve_preview
from portal.services.accounting.schedule import save_schedule
from portal.services.accounting.setup import book_options, save_settings
from portal.services.accounts import hash_password
from tests.accounting_helpers import DEFAULTS
from tests.bench.common import redis_server
from tests.fixtures.portal import free_port

LIMIT = 200
SECRET = "agency-bench-secret"
FERNET = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU="
ROOT = Path(__file__).resolve().parents[2]


# ---- the processes ------------------------------------------------------------------------------
@contextmanager
def postgres() -> Iterator[str]:
    """DATABASE_URL when set, else a throwaway cluster (as .ci/run makes one), dropped after."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdb:
        subprocess.run([str(ROOT / "scripts" / "install-postgres.sh")], check=True)
        initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    pgbin, port = initdb[-1].parent, free_port()
    data = Path(tempfile.mkdtemp(prefix="portal-pg."))  # not under a root-only directory
    shutil.chown(data, "postgres")

    def as_pg(*argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)

    as_pg(str(pgbin / "initdb"), "-D", str(data / "d"), "-U", "postgres", "-A", "trust")
    options = f"-p {port} -h 127.0.0.1 -k {data} -c max_connections=300"
    ctl = [str(pgbin / "pg_ctl"), "-D", str(data / "d")]
    as_pg(*ctl, "-o", options, "-l", str(data / "log"), "-w", "start")
    try:
        for _ in range(100):
            try:
                as_pg(str(pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "portal")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/portal"
    finally:
        as_pg(*ctl, "-m", "fast", "stop")
        shutil.rmtree(data, ignore_errors=True)


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(600):
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if proc.poll() is not None:
                raise SystemExit(f"{what} exited") from None
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_for_workers(count: int, procs: list[subprocess.Popen[bytes]]) -> None:
    """Until every worker has registered with Redis (each sweeps and optimizes first)."""
    for _ in range(600):
        if len(Worker.all(connection=get_redis())) >= count:
            return
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited")
        time.sleep(0.1)
    raise SystemExit("the workers did not start")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # it has exited
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn's work is in its worker process)."""
    total = _cpu(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                total += _cpu(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return total


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL process on this machine (its backends and helpers)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if stat.read_bytes().startswith(b"postgres"):
                found[int(stat.parent.name)] = _cpu(int(stat.parent.name))
        except OSError:
            continue
    return found


@dataclass
class OtherCpu:
    """What the processes beside the workers used while the syncs ran, on the same cores."""

    sandbox: float = 0.0
    web: float = 0.0
    postgres: float = 0.0

    def line(self) -> str:
        return (
            f"beside the workers on the same cores: sandbox {self.sandbox:.1f} s, "
            f"web {self.web:.1f} s, PostgreSQL {self.postgres:.1f} s of CPU"
        )


# ---- setting the agency up ----------------------------------------------------------------------
def _settings(env: dict[str, str], sandbox: str) -> dict[str, Any]:
    app = requests.get(f"{sandbox}/_sandbox/state", timeout=30).json()["reckon_app"]
    return {
        "MODE": "demo",
        "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
        "REDIS_URL": env["REDIS_URL"],
        "SANDBOX_URL": sandbox,
        "CLINIKO_BASE_URL_TEMPLATE": f"{sandbox}/cliniko/{{shard}}/v1",
        "VAOCHERAPP_BASE_URL": f"{sandbox}/vaocherapp/v1",
        "RECKON_IDENTITY_URL": f"{sandbox}/reckon-identity",
        "RECKON_API_URL": f"{sandbox}/reckon/r1/v2",
        "SECRET_KEY": SECRET,
        "ENCRYPTION_KEYS": FERNET,
        "RECKON_CLIENT_ID": app["client_id"],
        "RECKON_CLIENT_SECRET": app["client_secret"],
        "RECKON_SUBSCRIPTION_KEY": app["subscription_key"],
        "CLINIKO_RATE_WINDOW_SECONDS": float(env["CLINIKO_RATE_WINDOW_SECONDS"]),
    }


def _agency(count: int) -> User:
    """One agency with `count` clinics named as the sandbox's agency clinics, and its admin."""
    agency = Agency(name="Bench Agency", slug="bench")
    admin = User(email="admin@bench.example", name="Admin", password_hash=hash_password("bench"))
    db.session.add_all([agency, admin])
    db.session.flush()
    db.session.add(Membership(user_id=admin.id, agency_id=agency.id, role=Role.AGENCY_ADMIN))
    for n in range(1, count + 1):
        name = f"Agency Clinic {n:04d}"
        db.session.add(Clinic(agency_id=agency.id, name=name, slug=f"clinic-{n:04d}"))
    db.session.commit()
    return admin


def _configure(admin: User, at: str) -> list[Clinic]:
    """Accounting settings, an approved (stand-in) preview and the nightly schedule, per clinic."""
    clinics = list(db.session.scalars(db.select(Clinic).order_by(Clinic.id)))
    for clinic in clinics:
        save_settings(clinic, admin, dict(DEFAULTS), book_options(clinic))
        preview = AccountingPreview(clinic_id=clinic.id, status="ready", summary={})
        db.session.add(preview)
        db.session.flush()
        approve_preview(clinic, admin, preview)
        save_schedule(clinic, admin, "accounting.sync", "daily", 0, at, True)
        db.session.commit()
    return clinics


# ---- interactive work --------------------------------------------------------------------------
@dataclass
class Purchases:
    sandbox: str
    keys: list[str]
    every: float
    made: dict[str, float] = field(default_factory=dict)  # code → when it was bought
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.wait(self.every):
            n += 1
            code = f"LIVE{n:05d}"
            sale = {"api_key": random.choice(self.keys), "value": 5000, "code": code}
            sale |= {"purchaser_name": "Walk In", "purchaser_email": f"buyer{n}@example.com"}
            began = time.time()
            try:
                url = f"{self.sandbox}/_sandbox/vaocherapp/purchase"
                requests.post(url, json=sale, timeout=30).raise_for_status()
                self.made[code] = began
            except requests.RequestException:
                self.failed += 1


def _latencies(purchases: Purchases, timeout: float) -> tuple[list[float], int]:
    """Seconds from each purchase to its voucher in the portal; how many never arrived."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        rows = dict(
            db.session.execute(
                db.select(Voucher.code, Voucher.created_at).where(
                    Voucher.code.in_(list(purchases.made))
                )
            ).all()
        )
        if len(rows) == len(purchases.made) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    waits = [rows[c].timestamp() - t for c, t in purchases.made.items() if c in rows]
    return waits, len(purchases.made) - len(rows) + purchases.failed


# ---- figures ------------------------------------------------------------------------------------
def over_limit_windows(log: list[dict[str, Any]], window: float) -> int:
    """Per credential, how many requests opened a window of `window` s holding > LIMIT."""
    by_key: dict[str, list[float]] = defaultdict(list)
    for entry in log:
        if entry["upstream"] == "cliniko":
            by_key[entry["credential_tail"]].append(entry["t"])
    over = 0
    for stamps in by_key.values():
        stamps.sort()
        end = 0
        for start, at in enumerate(stamps):
            end = max(end, start)
            while end < len(stamps) and stamps[end] < at + window:
                end += 1
            over += end - start > LIMIT
    return over


@dataclass
class Outcome:
    runs: list[JobRun]
    started: float
    cpu: float
    records: int
    cliniko_calls: dict[int, int]  # clinic id → Cliniko requests during the run
    others: OtherCpu = field(default_factory=OtherCpu)


def _wait_for_syncs(run_ids: list[int], timeout: float) -> list[JobRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        runs = list(db.session.scalars(db.select(JobRun).where(JobRun.id.in_(run_ids))))
        if all(not r.is_live for r in runs):
            return runs
        time.sleep(1)
    raise SystemExit("the syncs did not finish in time")


def _starved(runs: list[JobRun], t0: float, workers: int) -> int:
    durations = [(r.finished_at - r.started_at).total_seconds() for r in runs if r.started_at]
    mean = statistics.mean(durations) if durations else 0.0
    ordered = sorted(runs, key=lambda r: r.id)  # the order the tick queued them
    late = 0
    for place, run in enumerate(ordered):
        if run.started_at is None:
            late += 1
            continue
        waited = run.started_at.timestamp() - t0
        late += waited > 2 * (place // workers + 1) * mean
    return late


def _report(
    args: argparse.Namespace, out: Outcome, waits: list[float], lost: int, log: Any
) -> None:
    runs, window = out.runs, args.rate_window
    finished = max(r.finished_at.timestamp() for r in runs if r.finished_at)
    wall = finished - out.started
    rate_bound = max(out.cliniko_calls.values(), default=0) / LIMIT * window
    cores = os.cpu_count() or 1
    cpu_bound = out.cpu / min(args.workers, cores)
    ratio = wall / max(rate_bound, cpu_bound, 1e-9)
    per_record = out.cpu * 1000 / max(out.records, 1)
    errors = sum(r.status != JobStatus.SUCCEEDED for r in runs) + lost
    p95 = sorted(waits)[max(0, int(len(waits) * 0.95) - 1)] if waits else 0.0
    starved = _starved(runs, out.started, args.workers)
    over = over_limit_windows(log, window)
    print("clinic        start s  sync s  records  Cliniko calls  status")
    for run in sorted(runs, key=lambda r: r.id)[:: max(1, len(runs) // 20)]:
        start = run.started_at.timestamp() - out.started if run.started_at else float("nan")
        took = (run.finished_at - run.started_at).total_seconds() if run.started_at else 0
        print(
            f"{run.clinic.name[-11:]:12} {start:8.1f} {took:7.1f} {run.ok_count:8} "
            f"{out.cliniko_calls.get(run.clinic_id, 0):14} {run.status}"
        )
    failed = [r for r in runs if r.status != JobStatus.SUCCEEDED]
    if failed:
        print(f"{len(failed)} syncs did not succeed; the first: {failed[0].message[:300]}")
    print(
        f"total: {len(runs)} syncs, {out.records:,} records, worker CPU {out.cpu:.1f} s on "
        f"{cores} cores; {len(waits)} purchases (p50 {statistics.median(waits or [0]):.2f} s); "
        f"Cliniko {LIMIT} per {window:g} s"
    )
    print(out.others.line())
    print(
        f"agency bench: clinics={args.clinics} workers={args.workers} wall={wall:.1f} "
        f"rate_bound={rate_bound:.1f} cpu_bound={cpu_bound:.1f} ratio={ratio:.2f} "
        f"cpu_ms_per_record={per_record:.2f} starved={starved} interactive_p95={p95:.2f} "
        f"errors={errors} over_limit_windows={over}"
    )


# ---- the run -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--rate-window", type=float, default=60.0)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--purchase-every", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with redis_server(tmp) as redis_url, postgres() as database_url:
            env = dict(os.environ) | {
                "PORTAL_MODE": "demo",
                "PORTAL_VAR_DIR": str(tmp),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SECRET_KEY": SECRET,
                "ENCRYPTION_KEYS": FERNET,
                "CLINIKO_RATE_WINDOW_SECONDS": str(args.rate_window),
                "WEB_CONCURRENCY": "1",
            }
            _bench(args, env)


def _bench(args: argparse.Namespace, env: dict[str, str]) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sandbox_port = free_port()
        argv = [sys.executable, "-m", "portal.sandbox", "--port", str(sandbox_port), "--quiet"]
        argv += ["--scale", str(args.scale), "--clinics", str(args.clinics)]
        procs.append(_start(argv, env))
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        _wait_http(f"{sandbox}/_sandbox/state", procs[-1], "the sandbox")
        limits = {"cliniko": {"limit": LIMIT, "window_seconds": args.rate_window}}
        requests.post(f"{sandbox}/_sandbox/ratelimits", json=limits, timeout=10)
        env |= {"SANDBOX_URL": sandbox, "SANDBOX_PORT": str(sandbox_port)}
        settings = _settings(env, sandbox)
        for name in ("RECKON_CLIENT_ID", "RECKON_CLIENT_SECRET", "RECKON_SUBSCRIPTION_KEY"):
            env[name] = settings[name]  # the portal's Reckon app, as registered in the sandbox
        web_port = free_port()
        app = create_app(settings)
        with app.app_context():
            try:
                _run(args, env, procs, sandbox, web_port)
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _run(
    args: argparse.Namespace,
    env: dict[str, str],
    procs: list[subprocess.Popen[bytes]],
    sandbox: str,
    web_port: int,
) -> None:
    began = time.monotonic()
    upgrade()
    admin = _agency(args.clinics)
    link_demo_clinics(f"http://127.0.0.1:{web_port}")
    db.session.commit()
    at = "02:00"
    clinics = _configure(admin, at)
    print(f"{len(clinics)} clinics linked and configured in {time.monotonic() - began:.0f} s")
    web = ["gunicorn", "--no-control-socket", "--bind", f"127.0.0.1:{web_port}"]
    web += ["--workers", "1", "--threads", "4", "wsgi:app"]
    procs.append(_start([sys.executable, "-m", *web], env))
    _wait_http(f"http://127.0.0.1:{web_port}/login", procs[-1], "the web process")
    workers = [_start([sys.executable, "worker.py"], env) for _ in range(args.workers)]
    procs.extend(workers)
    _wait_for_workers(args.workers, workers)
    cpu_before = {p.pid: _tree_cpu(p.pid) for p in procs}
    pg_before = _postgres_cpu()
    state = requests.get(f"{sandbox}/_sandbox/state", timeout=30).json()["clinics"]
    keys = [c["vaocherapp"]["api_key"] for c in state if c["agency"] == "Bench Agency"]
    purchases = Purchases(sandbox, keys, args.purchase_every)
    seq = max((e["seq"] for e in _log(sandbox)), default=0)
    # Every schedule is due at the same minute: the tick starts them all in one go.
    now = utcnow()
    due = now - timedelta(seconds=1)
    db.session.execute(db.update(AccountingSchedule).values(next_run_at=due))
    db.session.commit()
    feeder = threading.Thread(target=purchases.run, daemon=True)
    feeder.start()
    t0 = time.time()
    run_ids = start_due_runs(utcnow())
    runs = _wait_for_syncs(run_ids, args.timeout)
    purchases.stop.set()
    feeder.join()
    cpu = sum(_tree_cpu(w.pid) - cpu_before[w.pid] for w in workers)
    sandbox_proc, web_proc = procs[0], procs[1]
    others = OtherCpu(
        sandbox=_tree_cpu(sandbox_proc.pid) - cpu_before[sandbox_proc.pid],
        web=_tree_cpu(web_proc.pid) - cpu_before[web_proc.pid],
        postgres=sum(t - pg_before.get(pid, 0.0) for pid, t in _postgres_cpu().items()),
    )
    waits, lost = _latencies(purchases, timeout=120)
    log = [e for e in _log(sandbox) if e["seq"] > seq]
    records = db.session.scalar(db.select(db.func.count(SyncRecord.id))) or 0
    outcome = Outcome(runs, t0, cpu, records, _cliniko_calls(log, clinics, sandbox), others)
    _report(args, outcome, waits, lost, log)


def _log(sandbox: str) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox}/_sandbox/requests", timeout=120).json()["requests"]


def _cliniko_calls(
    log: list[dict[str, Any]], clinics: list[Clinic], sandbox: str
) -> dict[int, int]:
    state = requests.get(f"{sandbox}/_sandbox/state", timeout=30).json()["clinics"]
    tail_of = {c["name"]: c["cliniko"]["api_key"][-8:] for c in state}
    counts: dict[str, int] = defaultdict(int)
    for entry in log:
        if entry["upstream"] == "cliniko":
            counts[entry["credential_tail"]] += 1
    return {c.id: counts.get(tail_of.get(c.name, ""), 0) for c in clinics}


if __name__ == "__main__":
    main()
