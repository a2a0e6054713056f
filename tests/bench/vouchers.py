"""Voucher browser benchmark: 100k vouchers in one clinic; server time of the list, a search and
a filtered page.

Run: .venv/bin/python -m tests.bench.vouchers [--vouchers 100000 --requests 60]
The app is called in-process (Flask's test client), so the times are server time: routing,
tenancy, the queries (page + total), and rendering. Goal: p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from flask import current_app
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.cli import optimize_database
from portal.demo.bulk import seed_bulk_vouchers
from portal.demo.seed import seed_demo
from portal.extensions import db
from portal.models import Clinic
from tests.bench.common import redis_server

CASES = {
    "list (first page)": "/c/bondi-physio/vouchers/",
    "search 'buyer 4242'": "/c/bondi-physio/vouchers/?q=buyer+4242",
    "search by code": "/c/bondi-physio/vouchers/?q=gv-000777",
    "search by email prefix": "/c/bondi-physio/vouchers/?q=buyer4242",
    "filtered: active, expiring in 30 days": (
        "/c/bondi-physio/vouchers/?status=active&expiring_days=30"
    ),
    "filtered: not provisioned, page 50": "/c/bondi-physio/vouchers/?provisioned=no&page=50",
}


def seed(count: int) -> None:
    """The load-test vouchers `flask seed-vouchers` makes, in Bondi (flushed)."""
    clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == "bondi-physio"))
    assert clinic is not None, "seed the demo first"
    seed_bulk_vouchers(clinic, count)


def signed_in(app_client: FlaskClient) -> FlaskClient:
    html = app_client.get("/login").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)  # type: ignore[union-attr]
    app_client.post(
        "/login", data={"email": "manager@example.com", "password": "demo", "csrf_token": token}
    )
    return app_client


def measure(app_client: FlaskClient, url: str, repeats: int) -> list[float]:
    times = []
    for htmx in (False, True):
        for _ in range(repeats // 2):
            start = time.perf_counter()
            response = app_client.get(url, headers={"HX-Request": "true"} if htmx else {})
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vouchers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voucher-bench-"))
    with redis_server(workdir) as redis_url:  # sign-in keeps its session there
        app = create_app(
            {
                "MODE": "test",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
                "REDIS_URL": redis_url,
            }
        )
        with app.app_context():
            _measure(args)


def _measure(args: argparse.Namespace) -> None:
    upgrade()
    seed_demo()
    db.session.commit()
    started = time.perf_counter()
    seed(args.vouchers)
    db.session.commit()
    print(f"seeded {args.vouchers} vouchers in {time.perf_counter() - started:.1f} s")
    optimize_database()  # what worker.py does at start and `flask optimize-db` does daily
    app_client = signed_in(current_app.test_client())
    print(f"{'request':42} {'p50 ms':>8} {'p95 ms':>8}")
    for name, url in CASES.items():
        measure(app_client, url, 4)  # warm caches
        times = sorted(measure(app_client, url, args.requests))
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{name:42} {statistics.median(times):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
