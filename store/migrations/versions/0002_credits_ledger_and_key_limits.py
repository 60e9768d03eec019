"""credits on tenants, a credit ledger, per-key rate limits

Existing tenants get the default opening balance (100.0, Settings.default_credits'
default) and a matching 'opening balance' ledger row, so every balance is explained
by its ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPENING_BALANCE = 100.0


def upgrade() -> None:
    op.create_table('credit_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('execution_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('balance_after', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('execution_id')
    )
    with op.batch_alter_table('credit_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_ledger_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requests_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('requests_per_hour', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_concurrent_executions', sa.Integer(), nullable=True))

    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.create_index('ix_executions_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('credits', sa.Float(), server_default=str(OPENING_BALANCE), nullable=False)
        )

    op.execute(
        sa.text(
            "INSERT INTO credit_ledger (tenant_id, execution_id, reason, amount, balance_after, created_at) "
            "SELECT id, NULL, 'opening balance', credits, credits, created_at FROM tenants"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('credits')

    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_tenant_id_created_at')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('max_concurrent_executions')
        batch_op.drop_column('requests_per_hour')
        batch_op.drop_column('requests_per_minute')

    with op.batch_alter_table('credit_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_ledger_tenant_id'))

    op.drop_table('credit_ledger')
