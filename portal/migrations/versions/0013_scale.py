"""scale: case-insensitive voucher codes indexed per clinic; continuous sync schedules

Revision ID: 0013_scale
Revises: 0012_row_line_cents
Create Date: 2026-11-30 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0013_scale"
down_revision = "0012_row_line_cents"
branch_labels = None
depends_on = None


def upgrade():
    # upper(code) within a clinic: the reconciliation plan and apply find vouchers this way.
    op.create_index(
        "ix_voucher_clinic_code_upper", "voucher", ["clinic_id", sa.text("upper(code)")]
    )
    # "Has any voucher changed since?": a continuous sync asks each run.
    op.create_index("ix_voucher_clinic_updated", "voucher", ["clinic_id", "updated_at"])
    with op.batch_alter_table("accounting_schedule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("every_minutes", sa.Integer(), nullable=False, server_default="5")
        )


def downgrade():
    with op.batch_alter_table("accounting_schedule", schema=None) as batch_op:
        batch_op.drop_column("every_minutes")
    op.drop_index("ix_voucher_clinic_updated", table_name="voucher")
    op.drop_index("ix_voucher_clinic_code_upper", table_name="voucher")
