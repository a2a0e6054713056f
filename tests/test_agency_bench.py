"""The agency benchmark, run small: 3 clinics, 2 workers, Cliniko's minute scaled to 2 s."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.bench import agency

LAST_LINE = re.compile(
    r"agency bench: clinics=3 workers=2 wall=[\d.]+ rate_bound=[\d.]+ cpu_bound=[\d.]+ "
    r"ratio=[\d.]+ cpu_ms_per_record=[\d.]+ starved=(\d+) interactive_p95=[\d.]+ errors=(\d+) "
    r"over_limit_windows=(\d+)"
)


@pytest.mark.bench
def test_the_agency_bench_runs_small(capsys, monkeypatch):
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which("runuser"):
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    monkeypatch.delenv("DATABASE_URL", raising=False)  # its own throwaway cluster, always
    agency.main(["--clinics", "3", "--workers", "2", "--rate-window", "2"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    assert match.groups() == ("0", "0", "0"), last  # starved, errors, over-limit windows
