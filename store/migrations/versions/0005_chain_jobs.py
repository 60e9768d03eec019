"""chain jobs and cursors of the operator node

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chain_jobs',
    sa.Column('chain_id', sa.String(length=66), nullable=False),
    sa.Column('service_id', sa.BigInteger(), nullable=False),
    sa.Column('call_id', sa.BigInteger(), nullable=False),
    sa.Column('job', sa.Integer(), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('args_scale', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('receipt', sa.JSON(), nullable=True),
    sa.Column('receipt_hash', sa.String(length=66), nullable=True),
    sa.Column('signature', sa.String(length=140), nullable=True),
    sa.Column('submitted_block', sa.String(length=66), nullable=True),
    sa.Column('valid_until', sa.BigInteger(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', 'service_id', 'call_id')
    )
    with op.batch_alter_table('chain_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_jobs_state'), ['state'], unique=False)

    op.create_table('chain_cursors',
    sa.Column('chain_id', sa.String(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain_id')
    )


def downgrade() -> None:
    op.drop_table('chain_cursors')
    with op.batch_alter_table('chain_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_jobs_state'))
    op.drop_table('chain_jobs')
