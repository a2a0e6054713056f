"""Settings read from the environment, one class per mode (demo, test, production)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
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
    # Server-side sessions in Redis (Flask-Session): signing out deletes the session, so a copied
    # cookie is dead; idle sessions expire with their Redis key (ASVS 3.3.2: idle and absolute).
    SESSION_TYPE = "redis"
    SESSION_KEY_PREFIX = "portal:session:"
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = float(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    WTF_CSRF_TIME_LIMIT = (
        None  # tokens live as long as the session; a stale tab should not 400 mid-shift
    )
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
    # How many reverse proxies in front of the portal append to X-Forwarded-For (and set
    # X-Forwarded-Proto). 0 trusts none: the client address is the socket's, so a forged header
    # cannot dodge the per-address sign-in limit. Behind one router, set 1.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "5"))
    JOB_STALE_AFTER_SECONDS = float(os.environ.get("JOB_STALE_AFTER_SECONDS", "30"))
    JOB_TIMEOUT_SECONDS = int(os.environ.get("JOB_TIMEOUT_SECONDS", str(6 * 3600)))
    # Workers one clinic's runs may hold at once, and how many of those may be bulk work
    # (scheduled syncs, reports, checks): the rest of the pool serves the other clinics.
    CLINIC_MAX_RUNS = int(os.environ.get("CLINIC_MAX_RUNS", "2"))
    CLINIC_MAX_BULK_RUNS = int(os.environ.get("CLINIC_MAX_BULK_RUNS", "1"))
    PAGE_SIZE = 25
    # The worker's tick re-checks every linked clinic's connections this often (0: never; then
    # `flask check-connections` from a cron does it).
    CONNECTION_CHECK_MINUTES = int(os.environ.get("CONNECTION_CHECK_MINUTES", "60"))
    # Accounting sync: when Reckon is down, retry after base * 2**attempt seconds (capped at 1 h).
    ACCOUNTING_RETRY_BASE_SECONDS = int(os.environ.get("ACCOUNTING_RETRY_BASE_SECONDS", "60"))
    # Reckon writes one sync keeps in flight at once (0: as many as the database allows — one on
    # SQLite, whose single writer gains nothing from more, 4 on PostgreSQL).
    ACCOUNTING_WRITES_IN_FLIGHT = int(os.environ.get("ACCOUNTING_WRITES_IN_FLIGHT", "0"))
    ACCOUNTING_RETRY_MAX_ATTEMPTS = int(os.environ.get("ACCOUNTING_RETRY_MAX_ATTEMPTS", "8"))
    # Upstream credentials are encrypted with these Fernet keys (comma-separated, newest first;
    # older keys still decrypt until `flask rotate-encryption-key` re-encrypts everything).
    ENCRYPTION_KEYS = os.environ.get("ENCRYPTION_KEYS", "")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")  # for webhook URLs shown to users
    CLINIKO_BASE_URL_TEMPLATE = os.environ.get(
        "CLINIKO_BASE_URL_TEMPLATE", "https://api.{shard}.cliniko.com/v1"
    )
    # Cliniko allows 200 requests per minute per key. Benchmarks shrink the window to compress
    # time (a scaled clock, with the sandbox told the same); never change it in production.
    CLINIKO_RATE_WINDOW_SECONDS = float(os.environ.get("CLINIKO_RATE_WINDOW_SECONDS", "60"))
    CLINIKO_APP_NAME = os.environ.get("CLINIKO_APP_NAME", "Clinic Portal")
    CLINIKO_CONTACT_EMAIL = os.environ.get("CLINIKO_CONTACT_EMAIL", "")
    VAOCHERAPP_BASE_URL = os.environ.get("VAOCHERAPP_BASE_URL", "https://api.vaocher.app/v1")
    RECKON_IDENTITY_URL = os.environ.get("RECKON_IDENTITY_URL", "https://identity.reckon.com")
    RECKON_API_URL = os.environ.get("RECKON_API_URL", "https://api.reckon.com/r1/v2")
    RECKON_CLIENT_ID = os.environ.get("RECKON_CLIENT_ID", "")
    RECKON_CLIENT_SECRET = os.environ.get("RECKON_CLIENT_SECRET", "")
    RECKON_SUBSCRIPTION_KEY = os.environ.get("RECKON_SUBSCRIPTION_KEY", "")
    SANDBOX_URL = os.environ.get("SANDBOX_URL", "")  # demo mode: where the emulators listen
    # Reconciliation uploads: Cliniko's invoice-items export, streamed to disk per clinic.
    RECONCILIATION_MAX_UPLOAD_BYTES = int(os.environ.get("RECONCILIATION_MAX_UPLOAD_MB", "200")) * (
        1024 * 1024
    )
    # A webhook is small JSON; its body is refused past this while being read, before its
    # signature is checked (an unauthenticated sender cannot make a worker buffer megabytes).
    WEBHOOK_MAX_BYTES = int(os.environ.get("WEBHOOK_MAX_KB", "256")) * 1024
    MAX_CONTENT_LENGTH = RECONCILIATION_MAX_UPLOAD_BYTES + 1024 * 1024  # the upload plus its form
    RECONCILIATION_UPLOAD_DIR = os.environ.get(
        "RECONCILIATION_UPLOAD_DIR", str(VAR_DIR / "uploads")
    )
    # An interrupted redeem is judged from the balance only after this long (a late answer
    # could still land before then); longer than the VaocherApp client's read timeout.
    RECONCILIATION_SETTLE_SECONDS = float(os.environ.get("RECONCILIATION_SETTLE_SECONDS", "45"))
    # Outgoing mail (Flask-Mailman). No MAIL_SERVER: nothing is sent (demo: ./run.sh starts a
    # local SMTP sink and sets it). MAIL_SINK_DIR: where that sink stores what it captured.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "").lower() in ("1", "true", "yes")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Clinic Portal <portal@localhost>")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "20"))
    MAIL_BACKEND = "smtp"
    MAIL_SINK_DIR = os.environ.get("MAIL_SINK_DIR", "")

    @classmethod
    def validate(cls, settings: dict[str, Any]) -> None:
        """Refuse to start without the settings this mode needs."""
        for name in ("SECRET_KEY", "REDIS_URL", "ENCRYPTION_KEYS"):
            if not settings.get(name):
                raise ConfigError(f"{name} must be set (see README, Configuration).")


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

    CLINIKO_CONTACT_EMAIL = os.environ.get("CLINIKO_CONTACT_EMAIL", "demo-portal@example.com")

    @classmethod
    def validate(cls, settings: dict[str, Any]) -> None:
        if not settings.get("SECRET_KEY"):
            settings["SECRET_KEY"] = _demo_secret("secret_key", lambda: secrets.token_urlsafe(48))
        if not settings.get("ENCRYPTION_KEYS"):
            settings["ENCRYPTION_KEYS"] = _demo_secret("encryption_key", _fernet_key)
        _point_at_sandbox(settings)
        super().validate(settings)


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _point_at_sandbox(settings: dict[str, Any]) -> None:
    """In demo mode every upstream is the sandbox, unless a URL was configured explicitly."""
    sandbox = settings.get("SANDBOX_URL") or (
        f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '5055')}"
    )
    settings["SANDBOX_URL"] = sandbox
    defaults = {
        "CLINIKO_BASE_URL_TEMPLATE": f"{sandbox}/cliniko/{{shard}}/v1",
        "VAOCHERAPP_BASE_URL": f"{sandbox}/vaocherapp/v1",
        "RECKON_IDENTITY_URL": f"{sandbox}/reckon-identity",
        "RECKON_API_URL": f"{sandbox}/reckon/r1/v2",
    }
    for name, value in defaults.items():
        if name not in os.environ:
            settings[name] = value


def _demo_secret(name: str, make: Callable[[], str]) -> str:
    """Make a random secret on first demo run and keep it under var/, so restarts keep it."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


class TestConfig(BaseConfig):
    MODE = "test"
    DEMO_MODE = True
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 — only the test suite uses it
    # A fixed key so worker processes started by tests can decrypt what the test app stored.
    ENCRYPTION_KEYS = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU="
    CLINIKO_CONTACT_EMAIL = "tests@example.com"
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    # Short beats so the worker-killed tests see "interrupted" in seconds, not half a minute.
    JOB_HEARTBEAT_SECONDS = 0.5
    JOB_STALE_AFTER_SECONDS = 3.0
    RECONCILIATION_SETTLE_SECONDS = 1.0


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
