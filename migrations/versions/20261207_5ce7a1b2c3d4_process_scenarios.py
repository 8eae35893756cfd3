"""process scenarios: start facts and form values per step, run in memory at every deploy

Revision ID: 5ce7a1b2c3d4
Revises: 3583d6573db0
Create Date: 2026-12-07 06:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5ce7a1b2c3d4'
down_revision = '3583d6573db0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'process_scenario',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_process_scenario')),
        sa.UniqueConstraint('process_key', 'name', name='uq_process_scenario_key_name'),
    )
    with op.batch_alter_table('process_scenario', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_scenario_process_key'), ['process_key'], unique=False)


def downgrade():
    with op.batch_alter_table('process_scenario', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_scenario_process_key'))
    op.drop_table('process_scenario')
