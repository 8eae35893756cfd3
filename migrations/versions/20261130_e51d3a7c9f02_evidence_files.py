"""evidence files

Revision ID: e51d3a7c9f02
Revises: c4b8e2f61a07
Create Date: 2026-11-30 10:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e51d3a7c9f02'
down_revision = 'c4b8e2f61a07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evidence_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('merged_from_id', sa.Integer(), nullable=True),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_name', sa.String(length=80), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supplement_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_evidence_file_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['merged_from_id'], ['complaint.id'], name=op.f('fk_evidence_file_merged_from_id_complaint')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['official.id'], name=op.f('fk_evidence_file_uploaded_by_id_official')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_file')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_evidence_file_storage_name'))
    )
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_file_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_supplement_id'), ['supplement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_file_supplement_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_file_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidence_file_complaint_id'))
    op.drop_table('evidence_file')
