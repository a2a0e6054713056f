"""./run.sh's launcher, for real: every process starts, a killed worker is replaced and its run
marked interrupted, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.fixtures.portal import ROOT, free_port, wait_for


def _marked_pids(marker: str, redis_port: str) -> dict[int, str]:
    """Everything the launcher started: processes whose environment carries `marker`, plus its
    redis-server (which overwrites its own environment with its process title)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if marker.encode() in (entry / "environ").read_bytes() or (
                "redis-server" in cmdline and f":{redis_port}" in cmdline
            ):
                found[int(entry.name)] = cmdline
        except OSError:
            continue
    return found


@pytest.fixture
def launched(
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Callable[[], dict[int, str]]]]:
    marker = f"PORTAL_LAUNCH_TEST={uuid.uuid4().hex}"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "PORTAL_MODE": "demo",
        "PORTAL_VAR_DIR": str(tmp_path),
        "PORT": str(port),
        "SANDBOX_PORT": str(free_port()),
        "JOB_STALE_AFTER_SECONDS": "3",
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "DEMO_VOUCHERS": "300",  # load-test vouchers (100000 for the load test)
        marker.split("=")[0]: marker.split("=")[1],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    with (tmp_path / "launcher.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portal.launcher"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"

    def pids() -> dict[int, str]:
        started = re.search(
            r"Redis on redis://127.0.0.1:(\d+)", (tmp_path / "launcher.log").read_text()
        )
        return _marked_pids(marker, started.group(1) if started else "none")

    try:
        wait_for(lambda: _get(base + "/login") == 200, timeout=90, interval=0.5)
        yield proc, base, pids
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        for pid in pids():
            os.kill(pid, signal.SIGKILL)


def _get(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0


def _signed_in(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', session.get(base + "/login").text).group(1)
    form = {"email": "manager@example.com", "password": "demo", "csrf_token": token}
    session.post(base + "/login", data=form, timeout=5).raise_for_status()
    return session, token


def test_killed_worker_is_replaced_and_its_run_interrupted_then_ctrl_c_stops_everything(launched):
    proc, base, _pids = launched
    names = " ".join(_pids().values())
    for expected in ("redis-server", "gunicorn", "worker.py", "portal.sandbox", "mailsink"):
        assert expected in names
    session, token = _signed_in(base)
    found = session.get(base + "/c/bondi-physio/vouchers/?q=gv-000299").text
    assert "GV-000299" in found  # DEMO_VOUCHERS=300 seeded them
    started = session.post(
        base + "/c/bondi-physio/jobs/start/demo", data={"items": 200, "csrf_token": token}
    )
    run_url = started.url
    assert re.search(r"/jobs/\d+$", run_url)
    wait_for(lambda: "Synthetic item" in session.get(run_url + "/items").text, timeout=30)
    workers = [pid for pid, cmd in _pids().items() if "worker.py" in cmd]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "interrupted" in session.get(run_url + "/progress").text, timeout=30)
    assert "Retry: finish the unfinished items" in session.get(run_url).text
    # The launcher started a new worker, so a retry runs.
    wait_for(
        lambda: any("worker.py" in cmd and pid not in workers for pid, cmd in _pids().items()),
        timeout=15,
    )
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    wait_for(lambda: not _pids(), timeout=15)
