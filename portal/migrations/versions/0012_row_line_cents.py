"""reconciliation row: the line's signed amount, so a sale line and a use no longer look alike

Revision ID: 0012_row_line_cents
Revises: 0012_onboarding
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_row_line_cents"
down_revision = "0012_onboarding"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reconciliation_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_cents", sa.Integer(), nullable=True))


def downgrade():
    op.execute("ALTER TABLE reconciliation_row DROP COLUMN line_cents")
