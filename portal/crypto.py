"""Encryption at rest for upstream credentials: Fernet, with key rotation through MultiFernet."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

from .redaction import remember_secret


class SecretBox:
    """Encrypts dicts of secrets; the first key encrypts, every key decrypts."""

    def __init__(self, keys: str) -> None:
        fernets = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        if not fernets:
            raise ValueError("no encryption key configured")
        self._box = MultiFernet(fernets)

    def seal(self, secrets: dict[str, Any]) -> str:
        for value in secrets.values():
            remember_secret(value if isinstance(value, str) else None)
        return self._box.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            secrets: dict[str, Any] = json.loads(self._box.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "stored credentials cannot be decrypted with the configured keys"
            ) from exc
        for value in secrets.values():
            remember_secret(value if isinstance(value, str) else None)
        return secrets

    def rotate(self, sealed: str) -> str:
        """Re-encrypt with the newest key (after a new key is put first in ENCRYPTION_KEYS)."""
        return self._box.rotate(sealed.encode()).decode()


def init_crypto(app: Flask) -> None:
    app.extensions["portal.secret_box"] = SecretBox(app.config["ENCRYPTION_KEYS"])


def secret_box() -> SecretBox:
    box: SecretBox = current_app.extensions["portal.secret_box"]
    return box
