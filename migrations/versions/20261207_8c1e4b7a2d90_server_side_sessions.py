"""web_session (Flask-Session's store on the database) and official_session (each sign-in, its idle and absolute
lifetime, listed on the profile page)

Revision ID: 8c1e4b7a2d90
Revises: 3f6a1c2d9b57
Create Date: 2026-12-07 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c1e4b7a2d90'
down_revision = '3f6a1c2d9b57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'web_session',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('expiry', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_expiry'), ['expiry'], unique=False)
    op.create_table(
        'official_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_reason', sa.String(length=32), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['official_id'], ['official.id'], name=op.f('fk_official_session_official_id_official')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_official_session')),
        sa.UniqueConstraint('key', name=op.f('uq_official_session_key')),
    )
    with op.batch_alter_table('official_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_session_official_id'), ['official_id'], unique=False)


def downgrade():
    with op.batch_alter_table('official_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_official_session_official_id'))
    op.drop_table('official_session')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_expiry'))
    op.drop_table('web_session')
