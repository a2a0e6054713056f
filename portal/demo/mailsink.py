"""The demo SMTP sink: an aiosmtpd server that keeps every message it is sent as a file.

`./run.sh` starts it in demo mode when no MAIL_SERVER is configured, so alerts can be seen on the
demo-only "Sent emails" page without a mail account; tests run the same server on a free port.
It imports nothing of the portal: `python -m portal.demo.mailsink --port N --dir DIR`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class StoreMessages:
    """aiosmtpd handler: write each message to DIR as <time>-<n>.eml, whole and unparsed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._n = 0
        directory.mkdir(parents=True, exist_ok=True)

    # aiosmtpd calls the handler method by this name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._n += 1
            name = f"{time.time_ns()}-{self._n:06d}.eml"
        tmp = self.directory / f".{name}"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(directory: Path, port: int = 0, host: str = "127.0.0.1") -> Controller:
    """Serve on `host:port` (0: a free port) in a thread; `.port` says where, `.stop()` ends it."""
    controller = Controller(StoreMessages(directory), hostname=host, port=port or _free_port(host))
    controller.start()
    return controller


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SunkMessage:
    name: str
    to: list[str]
    sender: str
    subject: str
    date: str
    text: str
    html: str


def read_messages(directory: Path, limit: int = 200) -> list[SunkMessage]:
    """The newest `limit` messages the sink stored, newest first."""
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    return [_parse(path) for path in files]


def _parse(path: Path) -> SunkMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return SunkMessage(
        name=path.stem,
        to=[a.strip() for a in str(message.get("To", "")).split(",") if a.strip()],
        sender=str(message.get("From", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Demo SMTP sink: keeps every message as a file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    controller = start_sink(args.dir, args.port)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
