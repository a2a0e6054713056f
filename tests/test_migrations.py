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


def test_runs_made_before_titles_get_their_kinds_title(demo):
    """0007 names each existing run by its kind's title, or by the kind when it is unknown."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import Boolean, Integer, String, column, table

    from portal.models.types import UTCDateTime, utcnow

    clinic_id = demo["clinics"]["bondi-physio"].id
    db.session.commit()
    downgrade(revision="0006_voucher_search")
    try:
        counts = ("processed", "ok_count", "skipped_count", "failed_count")
        old_run = table(
            "job_run",
            *(column(name, Integer) for name in ("clinic_id", *counts)),
            *(column(name, String) for name in ("kind", "status", "current_item", "message")),
            column("params", db.JSON),
            column("cancel_requested", Boolean),
            column("created_at", UTCDateTime()),
        )
        zero = dict.fromkeys(counts, 0)
        for kind in ("accounting.sync", "retired.kind"):
            row = {"clinic_id": clinic_id, "kind": kind, "status": "succeeded", "params": {}}
            row |= {"current_item": "", "message": "", "cancel_requested": False}
            db.session.execute(old_run.insert().values(**row, **zero, created_at=utcnow()))
        db.session.commit()
    finally:
        db.session.rollback()
        upgrade()
    titles = dict(db.session.execute(db.text("SELECT kind, title FROM job_run")).all())
    assert titles == {"accounting.sync": "Accounting sync", "retired.kind": "retired.kind"}
