"""job run title

Revision ID: 0007_job_run_title
Revises: 0006_voucher_search
Create Date: 2026-11-30 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_job_run_title'
down_revision = '0006_voucher_search'
branch_labels = None
depends_on = None

# The kinds' titles when this revision was written (not imported: a revision must not change
# when the code does). A run of any other kind keeps its kind's name as its title.
TITLES = {
    "connections.check": "Check connections",
    "demo": "Demo job",
    "reconciliation.plan": "Plan reconciliation",
    "reconciliation.apply": "Apply reconciliation",
    "vouchers.intake": "Voucher webhooks",
    "vouchers.provision": "Provision vouchers in Cliniko",
    "vouchers.backfill": "Import vouchers from VaocherApp",
    "accounting.report": "Mismatch report",
    "accounting.sync": "Accounting sync",
}


def upgrade():
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=128), server_default='', nullable=False))

    job_run = sa.table('job_run', sa.column('kind', sa.String), sa.column('title', sa.String))
    op.execute(job_run.update().values(title=job_run.c.kind))
    for kind, title in TITLES.items():
        op.execute(job_run.update().where(job_run.c.kind == kind).values(title=title))


def downgrade():
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_column('title')
