"""throttle: failures per key (sign-in per username, tracking code) with delay and temporary lock; the permanent
account lock (official.failed_logins, official.locked_at) is gone

Revision ID: 3f6a1c2d9b57
Revises: 3d7e5a9c1b24
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6a1c2d9b57'
down_revision = '3d7e5a9c1b24'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'throttle',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle')),
    )
    with op.batch_alter_table('official', schema=None) as batch_op:
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_at')


def downgrade():
    with op.batch_alter_table('official', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
    op.drop_table('throttle')
