"""complainants told at each milestone: contact email and opt-out on the complaint, the SMS outbox

The complaint's columns are added with plain ADD COLUMN (no batch copy of the table), which keeps the case
search's FTS triggers on SQLite (see 3d7e5a9c1b24).

Revision ID: 8b2f4c6d1e93
Revises: 8c1f4e2a9b37
Create Date: 2026-12-07 03:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8b2f4c6d1e93'
down_revision = '8c1f4e2a9b37'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('complaint', sa.Column('contact_email', sa.String(length=200), nullable=True))
    op.add_column('complaint', sa.Column('notices_opted_out_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'sms_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_sms_outbox_complaint_id_complaint')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
        sa.UniqueConstraint('key', name=op.f('uq_sms_outbox_key')),
    )
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_outbox_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_sms_outbox_pending', ['sent_at', 'failed_at', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_sms_outbox_complaint_id'))
    op.drop_table('sms_outbox')
    op.drop_column('complaint', 'notices_opted_out_at')
    op.drop_column('complaint', 'contact_email')
