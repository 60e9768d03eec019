"""instance lifecycle: workspace size, ttl, auto_stop and metadata on instances; instance_events

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workspace_mb', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ttl_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auto_stop', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('metadata', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.create_index(batch_op.f('ix_instances_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_instances_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('instance_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_events_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_events_instance_id'))
    op.drop_table('instance_events')

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_tenant_id_created_at')
        batch_op.drop_index(batch_op.f('ix_instances_expires_at'))
        batch_op.drop_column('metadata')
        batch_op.drop_column('auto_stop')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('ttl_s')
        batch_op.drop_column('workspace_mb')
