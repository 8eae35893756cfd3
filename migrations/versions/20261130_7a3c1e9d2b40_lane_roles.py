"""lane roles defined by administrators

Revision ID: 7a3c1e9d2b40
Revises: 5b1f10a48581
Create Date: 2026-11-30 10:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a3c1e9d2b40'
down_revision = '5b1f10a48581'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lane_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('required_role', sa.String(length=50), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_lane_role_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lane_role')),
    sa.UniqueConstraint('name', name=op.f('uq_lane_role_name'))
    )


def downgrade():
    op.drop_table('lane_role')
