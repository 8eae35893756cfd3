"""typical cases (曝光典型案例); platform deliveries keyed per destination

Revision ID: 9d41f2a6c8e3
Revises: c33eaaf6988a
Create Date: 2026-11-30 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9d41f2a6c8e3'
down_revision = 'c33eaaf6988a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('typical_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('selection_reason', sa.String(length=20), nullable=True),
    sa.Column('selection_note', sa.Text(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('selected_by_id', sa.Integer(), nullable=True),
    sa.Column('selected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('public_facts', sa.JSON(), nullable=False),
    sa.Column('redacted_by_id', sa.Integer(), nullable=True),
    sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_remarks', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_by_label', sa.String(length=300), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['official.id'], name=op.f('fk_typical_case_approved_by_id_official')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_typical_case_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_typical_case_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['record_id'], ['breach_record.id'], name=op.f('fk_typical_case_record_id_breach_record')),
    sa.ForeignKeyConstraint(['redacted_by_id'], ['official.id'], name=op.f('fk_typical_case_redacted_by_id_official')),
    sa.ForeignKeyConstraint(['selected_by_id'], ['official.id'], name=op.f('fk_typical_case_selected_by_id_official')),
    sa.ForeignKeyConstraint(['started_by_id'], ['official.id'], name=op.f('fk_typical_case_started_by_id_official')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['official.id'], name=op.f('fk_typical_case_withdrawn_by_id_official')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_typical_case'))
    )
    with op.batch_alter_table('typical_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_typical_case_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_typical_case_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_typical_case_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_typical_case_status_published', ['status', 'published_at'], unique=False)

    # each destination (provincial, national) keeps its own rows: the key is unique per target
    with op.batch_alter_table('platform_delivery', schema=None) as batch_op:
        batch_op.drop_constraint('uq_platform_delivery_idempotency_key', type_='unique')
        batch_op.create_unique_constraint('uq_platform_delivery_target_key', ['target', 'idempotency_key'])


def downgrade():
    op.execute("DELETE FROM platform_delivery WHERE target <> 'provincial'")
    with op.batch_alter_table('platform_delivery', schema=None) as batch_op:
        batch_op.drop_constraint('uq_platform_delivery_target_key', type_='unique')
        batch_op.create_unique_constraint('uq_platform_delivery_idempotency_key', ['idempotency_key'])

    with op.batch_alter_table('typical_case', schema=None) as batch_op:
        batch_op.drop_index('ix_typical_case_status_published')
        batch_op.drop_index(batch_op.f('ix_typical_case_record_id'))
        batch_op.drop_index(batch_op.f('ix_typical_case_instance_id'))
        batch_op.drop_index(batch_op.f('ix_typical_case_complaint_id'))

    op.drop_table('typical_case')
