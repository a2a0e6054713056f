"""user session epoch: revocable sessions

Revision ID: 0011_session_epoch
Revises: 0010_reconciliation_keys
Create Date: 2026-11-30 12:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0011_session_epoch"
down_revision = "0010_reconciliation_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    # Not batch mode: on SQLite that copies user_account, which the memberships' foreign keys
    # refuse; SQLite 3.35+ and PostgreSQL drop a plain column in place.
    op.execute("ALTER TABLE user_account DROP COLUMN session_epoch")
