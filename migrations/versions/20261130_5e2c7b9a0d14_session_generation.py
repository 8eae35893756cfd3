"""official.session_generation: sign-out everywhere (a browser session is valid only with the current value)

Revision ID: 5e2c7b9a0d14
Revises: 9d41f2a6c8e3
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2c7b9a0d14'
down_revision = '9d41f2a6c8e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('official', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('official', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
