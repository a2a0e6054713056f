"""books that balance: voucher and credit settings, previews, liability checks

Revision ID: 0009_books
Revises: 0008_problems
Create Date: 2026-11-30 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.models.types


# revision identifiers, used by Alembic.
revision = '0009_books'
down_revision = '0008_problems'
branch_labels = None
depends_on = None

NEW_SETTINGS = (
    ('sync_vouchers', sa.Boolean(), sa.true()),
    ('voucher_clearing_account', sa.String(length=100), 'VaocherApp Clearing'),
    ('bad_debt_account', sa.String(length=100), 'Bad Debts'),
    ('breakage', sa.Boolean(), sa.false()),
    ('breakage_account', sa.String(length=100), 'Voucher Breakage'),
    ('customer_scope', sa.String(length=16), 'invoiced'),
    ('payment_terms', sa.String(length=100), ''),
)


def upgrade():
    with op.batch_alter_table('accounting_settings', schema=None) as batch_op:
        for name, kind, default in NEW_SETTINGS:
            batch_op.add_column(sa.Column(name, kind, server_default=default, nullable=False))
        batch_op.add_column(sa.Column('approved_preview_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_accounting_settings_approved_by_id_user_account'), 'user_account', ['approved_by_id'], ['id']
        )
    with op.batch_alter_table('accounting_settings', schema=None) as batch_op:
        for name, _kind, _default in NEW_SETTINGS:
            batch_op.alter_column(name, server_default=None)

    op.create_table('accounting_preview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_accounting_preview_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['run_id'], ['job_run.id'], name=op.f('fk_accounting_preview_run_id_job_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounting_preview'))
    )
    with op.batch_alter_table('accounting_preview', schema=None) as batch_op:
        batch_op.create_index('ix_accounting_preview_clinic_id', ['clinic_id'], unique=False)

    op.create_table('liability_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('reckon_balance', sa.String(length=32), nullable=False),
    sa.Column('outstanding', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_liability_check_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_liability_check'))
    )
    with op.batch_alter_table('liability_check', schema=None) as batch_op:
        batch_op.create_index('ix_liability_check_clinic_id', ['clinic_id'], unique=False)


def downgrade():
    with op.batch_alter_table('liability_check', schema=None) as batch_op:
        batch_op.drop_index('ix_liability_check_clinic_id')
    op.drop_table('liability_check')
    with op.batch_alter_table('accounting_preview', schema=None) as batch_op:
        batch_op.drop_index('ix_accounting_preview_clinic_id')
    op.drop_table('accounting_preview')
    with op.batch_alter_table('accounting_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_accounting_settings_approved_by_id_user_account'), type_='foreignkey')
        for name in ('approved_by_id', 'approved_at', 'approved_preview_id'):
            batch_op.drop_column(name)
        for name, _kind, _default in reversed(NEW_SETTINGS):
            batch_op.drop_column(name)
