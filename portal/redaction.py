"""Keep upstream secrets out of logs: every secret the portal handles is registered here, and a
log-record factory replaces it in every record before any handler (or test capture) sees it."""

from __future__ import annotations

import logging
import threading
from typing import Any

_MIN_LENGTH = 8  # shorter strings would redact ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember_secret(value: str | None) -> None:
    """Register a secret value (an API key, a token) so logs never carry it."""
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, f"[secret …{secret[-4:]}]")
    return text


def install() -> None:
    """Wrap the log-record factory once per process."""
    global _installed
    if _installed:
        return
    original = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] is not None:
            # Pre-format the traceback so the redacted text is what handlers print.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
