"""scale: case-insensitive voucher codes indexed per clinic

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


def downgrade():
    op.drop_index("ix_voucher_clinic_code_upper", table_name="voucher")
