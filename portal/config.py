"""Settings read from the environment, one class per mode (demo, test, production)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))


class ConfigError(RuntimeError):
    """A required setting is missing: refuse to start rather than run half-configured."""


class BaseConfig:
    MODE = "base"
    DEMO_MODE = False
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "portal")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    WTF_CSRF_TIME_LIMIT = (
        None  # tokens live as long as the session; a stale tab should not 400 mid-shift
    )
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "5"))
    JOB_STALE_AFTER_SECONDS = float(os.environ.get("JOB_STALE_AFTER_SECONDS", "30"))
    JOB_TIMEOUT_SECONDS = int(os.environ.get("JOB_TIMEOUT_SECONDS", str(6 * 3600)))
    PAGE_SIZE = 25

    @classmethod
    def validate(cls, settings: dict[str, Any]) -> None:
        """Refuse to start without the settings this mode needs."""
        if not settings.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY must be set (see README, Configuration).")
        if not settings.get("REDIS_URL"):
            raise ConfigError("REDIS_URL must be set (see README, Configuration).")


class ProductionConfig(BaseConfig):
    MODE = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class DemoConfig(BaseConfig):
    """What ./run.sh starts: seeded data, demo logins, a demo job; cookies work over plain http."""

    MODE = "demo"
    DEMO_MODE = True
    SECRET_KEY = os.environ.get("SECRET_KEY")

    @classmethod
    def validate(cls, settings: dict[str, Any]) -> None:
        if not settings.get("SECRET_KEY"):
            settings["SECRET_KEY"] = _demo_secret("secret_key")
        super().validate(settings)


def _demo_secret(name: str) -> str:
    """Make a random secret on first demo run and keep it under var/, so restarts keep sessions."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class TestConfig(BaseConfig):
    MODE = "test"
    DEMO_MODE = True
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 — only the test suite uses it
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    # Short beats so the worker-killed tests see "interrupted" in seconds, not half a minute.
    JOB_HEARTBEAT_SECONDS = 0.5
    JOB_STALE_AFTER_SECONDS = 3.0


MODES: dict[str, type[BaseConfig]] = {
    "production": ProductionConfig,
    "demo": DemoConfig,
    "test": TestConfig,
}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pick the mode from PORTAL_MODE (default production) and apply overrides."""
    mode = (overrides or {}).get("MODE") or os.environ.get("PORTAL_MODE", "production")
    if mode not in MODES:
        raise ConfigError(f"PORTAL_MODE must be one of {sorted(MODES)}, not {mode!r}.")
    cls = MODES[mode]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    settings.update(overrides or {})
    cls.validate(settings)
    return settings
