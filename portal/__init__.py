"""The clinic portal: `create_app` is the one place that wires config, extensions and blueprints."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_session.redis import RedisSessionInterface
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ROOT, load_config
from .extensions import csrf, db, htmx, login_manager, mail, migrate, redis_holder


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(config))
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    from .web import register_blueprints

    register_blueprints(app)
    from .cli import register_commands

    register_commands(app)
    from .web.context import register_context
    from .web.headers import register_headers

    register_context(app)
    register_headers(app)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return app


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 — the models must be known before migrations and queries
    from .crypto import init_crypto
    from .redaction import install as install_log_redaction

    install_log_redaction()
    init_crypto(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "portal" / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    redis_holder.init_app(app)
    _init_sessions(app)
    from .services.vouchers.figures import watch_voucher_changes

    watch_voucher_changes()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _init_sessions(app: Flask) -> None:
    """Sessions live in Redis, one key per session that expires when the session goes idle."""
    from datetime import timedelta

    redis = redis_holder.get_or_none_for(app)
    if redis is None:
        return  # no Redis (a bare test app): Flask's signed cookie session
    app.config["SESSION_REDIS"] = redis
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    app.session_interface = _ExpiryOnlyWhenUnchanged(
        app, client=redis, key_prefix=app.config["SESSION_KEY_PREFIX"]
    )


class _ExpiryOnlyWhenUnchanged(RedisSessionInterface):
    """A request that did not change the session only pushes back its expiry (the idle clock):
    it never writes back the copy it loaded, which could undo what a concurrent request (the
    Reckon sign-in's state, a flash) wrote meanwhile."""

    def _upsert_session(self, session_lifetime: Any, session: Any, store_id: str) -> None:
        if not session.modified and self.client.expire(store_id, session_lifetime):
            return
        super()._upsert_session(session_lifetime, session, store_id)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the web read while the worker writes; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL loses no committed work when a process is killed (only, at worst, the last
    # transactions on a power cut) and saves an fsync per commit; jobs commit per item.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
