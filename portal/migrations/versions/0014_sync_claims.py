"""sync claims: one commit marks many records a sync is about to create in Reckon

Revision ID: 0014_sync_claims
Revises: 0013_scale
Create Date: 2026-11-30 15:40:00

"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = "0014_sync_claims"
down_revision = "0013_scale"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("created_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_sync_claim_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_claim")),
    )
    op.create_index("ix_sync_claim_clinic", "sync_claim", ["clinic_id"])


def downgrade():
    op.drop_index("ix_sync_claim_clinic", table_name="sync_claim")
    op.drop_table("sync_claim")
