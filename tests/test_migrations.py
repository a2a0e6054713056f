"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_reached_the_newest_revision(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    config = Config()
    config.set_main_option("script_location", app.extensions["migrate"].directory)
    head = ScriptDirectory.from_config(config).get_current_head()
    current = db.session.scalar(db.text("SELECT version_num FROM alembic_version"))
    assert current == head
