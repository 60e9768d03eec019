"""snapshots, branches, instances; executions remember their instance, snapshot and branch

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('snapshots',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.String(length=40), nullable=True),
    sa.Column('execution_id', sa.String(length=40), nullable=True),
    sa.Column('instance_id', sa.String(length=40), nullable=True),
    sa.Column('branch_id', sa.String(length=40), nullable=True),
    sa.Column('checksum', sa.String(length=80), nullable=False),
    sa.Column('checkpoint_tree', sa.String(length=80), nullable=False),
    sa.Column('workspace_tree', sa.String(length=80), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.String(length=100), nullable=False),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('merged_from', sa.JSON(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_snapshots_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_snapshots_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_snapshots_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('branches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('snapshot_id', sa.String(length=40), nullable=False),
    sa.Column('head_snapshot_id', sa.String(length=40), nullable=False),
    sa.Column('parent_branch', sa.String(length=40), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_branches_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_branches_snapshot_id'), ['snapshot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_branches_head_snapshot_id'), ['head_snapshot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_branches_parent_branch'), ['parent_branch'], unique=False)

    op.create_table('instances',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('container_id', sa.String(length=80), nullable=True),
    sa.Column('snapshot_id', sa.String(length=40), nullable=True),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('stopped_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instances_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('snapshot_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('branch_id', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_executions_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_executions_instance_id'))
        batch_op.drop_column('branch_id')
        batch_op.drop_column('snapshot_id')
        batch_op.drop_column('instance_id')

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instances_tenant_id'))
    op.drop_table('instances')

    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_branches_parent_branch'))
        batch_op.drop_index(batch_op.f('ix_branches_head_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_branches_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_branches_tenant_id'))
    op.drop_table('branches')

    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_snapshots_tenant_id_created_at')
        batch_op.drop_index(batch_op.f('ix_snapshots_parent_id'))
        batch_op.drop_index(batch_op.f('ix_snapshots_tenant_id'))
    op.drop_table('snapshots')
