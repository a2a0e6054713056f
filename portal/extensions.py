"""Flask extensions, created unbound; `create_app` binds them (the Redis connection included)."""

from __future__ import annotations

from flask import Flask, current_app
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def end_transaction(*, commit: bool) -> None:
    """Commit or roll back the session's transaction. A request ends its own only through its
    plumbing (`portal.web.transaction`), so no view decides; jobs and the CLI commit their own."""
    if commit:
        db.session.commit()
    else:
        db.session.rollback()


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
mail = Mail()  # Flask-Mailman; send through portal.services.mail


class RedisHolder:
    """The app's one Redis connection (queue, locks, shared rate limits), bound by `init_app`."""

    key = "portal.redis"

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        app.extensions[self.key] = Redis.from_url(url) if url else None

    def get_or_none_for(self, app: Flask) -> Redis | None:
        return app.extensions.get(self.key)

    def get_or_none(self) -> Redis | None:
        return current_app.extensions.get(self.key)

    def get(self) -> Redis:
        client: Redis | None = current_app.extensions.get(self.key)
        if client is None:
            raise RuntimeError("REDIS_URL is not configured")
        return client


redis_holder = RedisHolder()


def get_redis() -> Redis:
    """The current app's Redis connection."""
    return redis_holder.get()
