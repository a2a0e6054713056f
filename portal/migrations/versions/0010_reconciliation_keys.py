"""reconciliation: alternate row keys, people's decisions on rows

Revision ID: 0010_reconciliation_keys
Revises: 0007_job_run_title
Create Date: 2026-11-30 12:20:00

"""
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0010_reconciliation_keys"
down_revision = "0007_job_run_title"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reconciliation_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alt_ref", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decision_note", sa.Text(), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            batch_op.f("fk_reconciliation_row_decided_by_id_user_account"),
            "user_account",
            ["decided_by_id"],
            ["id"],
        )
    with op.batch_alter_table("reconciliation_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alt_key", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_reconciliation_ledger_clinic_alt_key", ["clinic_id", "alt_key"], unique=False)
    _backfill()


def _backfill():
    """Rows keyed by invoice item id get their invoice-number key, counted as the reader does
    (identical lines on one invoice numbered in file order); ledger entries take their row's."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, batch_id, ref, invoice_number, code, amount_cents FROM reconciliation_row "
            "WHERE ref LIKE 'item:%' ORDER BY batch_id, row_number"
        )
    ).fetchall()
    seen: Counter = Counter()
    for row_id, batch_id, _ref, number, code, amount in rows:
        base = f"inv:{number}:{code}:{abs(amount)}"
        seen[(batch_id, base)] += 1
        alt = f"{base}:{seen[(batch_id, base)]}"
        bind.execute(
            sa.text("UPDATE reconciliation_row SET alt_ref = :alt WHERE id = :id"),
            {"alt": alt, "id": row_id},
        )
    bind.execute(
        sa.text(
            "UPDATE reconciliation_ledger SET alt_key = (SELECT r.alt_ref FROM reconciliation_row r "
            "WHERE r.id = reconciliation_ledger.row_id AND r.alt_ref != '')"
        )
    )


def downgrade():
    with op.batch_alter_table("reconciliation_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_ledger_clinic_alt_key")
        batch_op.drop_column("alt_key")
    with op.batch_alter_table("reconciliation_row", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reconciliation_row_decided_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("decision_note")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("alt_ref")
