"""Web tier under load: N signed-in users browsing a clinic with 100k vouchers, against the
Procfile's gunicorn (2 processes x 4 threads), over real HTTP.

Run: .venv/bin/python -m tests.bench.web_load [--users 50 --seconds 60 --vouchers 100000]
                                             [--think 1.0] [--base-url URL]
With --base-url (e.g. http://127.0.0.1:5000 for `DEMO_VOUCHERS=100000 ./run.sh`) it builds and
starts nothing: it starts a demo job there for the progress poll, then loads that portal.
Each user signs in once (timed apart: password hashing is slow on purpose), then loops over the
pages people use: the clinic home, the voucher list, a voucher search, the jobs list and a job
page's progress poll (an HTMX fragment), waiting `--think` seconds on average between requests
(uniform 0.5x-1.5x). Prints p50/p95 per page and overall, and the errors. Goal: p95 < 200 ms,
no errors. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from flask_migrate import upgrade

from portal import create_app
from portal.cli import optimize_database
from portal.demo.seed import seed_demo
from portal.extensions import db
from portal.models import Clinic, JobItem, JobRun, JobStatus
from tests.bench.common import redis_server
from tests.bench.vouchers import seed
from tests.fixtures.portal import free_port

BONDI = "/c/bondi-physio"
OK_STATUSES = (200, 286)  # 286: a finished run's progress poll, which tells htmx to stop
SECRET = "web-load-bench-secret-key"  # a throwaway app's key
FERNET = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU="


def _pages(run_id: int) -> dict[str, tuple[str, dict[str, str]]]:
    htmx = {"HX-Request": "true"}
    return {
        "clinic home": (f"{BONDI}/", {}),
        "voucher list": (f"{BONDI}/vouchers/", {}),
        "voucher search": (f"{BONDI}/vouchers/?q=buyer+{{n}}", htmx),
        "jobs list": (f"{BONDI}/jobs/", {}),
        "job progress poll": (f"{BONDI}/jobs/{run_id}/progress", htmx),
    }


def _prepare(workdir: Path, env: dict[str, str], vouchers: int) -> int:
    """Schema, demo data, the vouchers and one finished run with items; the run's id."""
    app = create_app(
        {
            "MODE": "demo",
            "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
            "REDIS_URL": env["REDIS_URL"],
            "SECRET_KEY": SECRET,
            "ENCRYPTION_KEYS": FERNET,
        }
    )
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        seed(vouchers)
        clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == "bondi-physio"))
        assert clinic is not None
        run = JobRun(clinic_id=clinic.id, kind="demo", title="Demo job", params={})
        run.status, run.total, run.processed, run.ok_count = JobStatus.SUCCEEDED, 200, 200, 200
        db.session.add(run)
        db.session.flush()
        db.session.execute(
            db.insert(JobItem),
            [{"run_id": run.id, "ref": f"demo-{n}", "outcome": "ok"} for n in range(200)],
        )
        db.session.commit()
        optimize_database()
        return run.id


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The Procfile's web process."""
    argv = [sys.executable, "-m", "gunicorn", "--no-control-socket"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", env.get("WEB_CONCURRENCY", "2")]
    argv += ["--threads", "4", "wsgi:app"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def _sign_in(base: str) -> tuple[requests.Session, float]:
    session = requests.Session()
    html = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert token, "no CSRF token"
    began = time.perf_counter()
    answer = session.post(
        f"{base}/login",
        data={"email": "manager@example.com", "password": "demo", "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 303, answer.status_code
    return session, time.perf_counter() - began


class Load:
    def __init__(self, base: str, pages: dict[str, tuple[str, dict[str, str]]], think: float):
        self.base, self.pages, self.think = base, pages, think
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.sign_ins: list[float] = []
        self.lock = threading.Lock()

    def user(self, until: float) -> None:
        session, took = _sign_in(self.base)
        with self.lock:
            self.sign_ins.append(took)
        names = list(self.pages)
        while time.monotonic() < until:
            time.sleep(random.uniform(0.5, 1.5) * self.think)
            name = random.choice(names)
            path, headers = self.pages[name]
            url = self.base + path.replace("{n}", str(random.randrange(100_000)))
            began = time.perf_counter()
            try:
                answer = session.get(url, headers=headers, timeout=30)
                ok = answer.status_code in OK_STATUSES
            except requests.RequestException as exc:
                ok, answer = False, exc  # type: ignore[assignment]
            took = time.perf_counter() - began
            with self.lock:
                self.times[name].append(took)
                if not ok:
                    self.errors.append(f"{name}: {answer}")


def _start_demo_job(base: str) -> int:
    """A demo job in Bondi on a running portal (for its progress poll); its id."""
    session, _ = _sign_in(base)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', session.get(f"{base}{BONDI}/jobs/").text)
    assert token, "no CSRF token"
    started = session.post(
        f"{base}{BONDI}/jobs/start/demo", data={"items": 200, "csrf_token": token.group(1)}
    )
    found = re.search(r"/jobs/(\d+)$", started.url)
    assert found, f"no demo job started ({started.status_code})"
    return int(found.group(1))


def _load(base: str, run_id: int, args: argparse.Namespace) -> Load:
    load = Load(base, _pages(run_id), args.think)
    until = time.monotonic() + args.seconds
    users = [threading.Thread(target=load.user, args=(until,)) for _ in range(args.users)]
    for user in users:
        user.start()
    for user in users:
        user.join()
    return load


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--vouchers", type=int, default=100_000)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--base-url", help="load this running portal instead (e.g. ./run.sh's)")
    args = parser.parse_args()
    if args.base_url:
        base = args.base_url.rstrip("/")
        _report(_load(base, _start_demo_job(base), args), args)
        return
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url:
        env = dict(os.environ) | {
            "PORTAL_MODE": "demo",
            "PORTAL_VAR_DIR": tmp,
            "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/load.db",
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "ENCRYPTION_KEYS": FERNET,
        }
        began = time.perf_counter()
        run_id = _prepare(Path(tmp), env, args.vouchers)
        print(f"prepared {args.vouchers:,} vouchers in {time.perf_counter() - began:.0f} s")
        port = free_port()
        web = _gunicorn(env, port)
        try:
            load = _load(f"http://127.0.0.1:{port}", run_id, args)
        finally:
            web.terminate()
            web.wait(timeout=30)
    _report(load, args)


def _report(load: Load, args: argparse.Namespace) -> None:
    every = [t for times in load.times.values() for t in times]
    print(
        f"{args.users} users, {args.seconds:.0f} s, think {args.think:g} s, {len(every):,} requests"
    )
    print(f"{'page':24} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, times in sorted(load.times.items()):
        median = statistics.median(times) * 1000
        print(f"{name:24} {len(times):9,} {median:8.0f} {_p(times, 0.95):8.0f}")
    median = statistics.median(every) * 1000
    print(f"{'all pages':24} {len(every):9,} {median:8.0f} {_p(every, 0.95):8.0f}")
    print(
        f"sign-in (once per user): p50 {statistics.median(load.sign_ins) * 1000:.0f} ms, "
        f"p95 {_p(load.sign_ins, 0.95):.0f} ms"
    )
    print(f"errors: {len(load.errors)}" + (f" (first: {load.errors[0]})" if load.errors else ""))


if __name__ == "__main__":
    main()
