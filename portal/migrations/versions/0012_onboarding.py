"""onboarding: invitations, and two-step sign-in (TOTP) for people who turn it on

Revision ID: 0012_onboarding
Revises: 0009_books
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

from portal.models.types import UTCDateTime

revision = "0012_onboarding"
down_revision = "0009_books"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("clinic_ids", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_invitation_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["user_account.id"],
            name=op.f("fk_invitation_invited_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["user_account.id"],
            name=op.f("fk_invitation_accepted_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
    )
    op.create_index("ix_invitation_agency_email", "invitation", ["agency_id", "email"])
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_sealed_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade():
    # Not batch mode (see 0011): SQLite 3.35+ and PostgreSQL drop a plain column in place.
    op.execute("ALTER TABLE user_account DROP COLUMN totp_last_step")
    op.execute("ALTER TABLE user_account DROP COLUMN totp_sealed_secret")
    op.drop_index("ix_invitation_agency_email", table_name="invitation")
    op.drop_table("invitation")
