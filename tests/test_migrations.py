"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


# SQLite cannot reflect an index on an expression (the voucher's upper(code)), so neither
# SQLAlchemy nor Alembic can compare it there; they say so, and PostgreSQL's pass compares it.
# `test_codes_are_found_by_the_expression_index` checks that SQLite has and uses it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_codes_are_found_by_the_expression_index(app):
    """A case-insensitive code lookup within a clinic is an index search, not a scan."""
    from sqlalchemy import func, select

    from portal.models import Voucher

    if db.engine.dialect.name != "sqlite":  # PostgreSQL reflects it: the test above compares it
        return
    stmt = select(Voucher).where(Voucher.clinic_id == 1, func.upper(Voucher.code) == "AB12")
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = str(db.session.execute(db.text(f"EXPLAIN QUERY PLAN {sql}")).all())
    assert "USING INDEX ix_voucher_clinic_code_upper (clinic_id=? AND <expr>=?)" in plan, plan


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
