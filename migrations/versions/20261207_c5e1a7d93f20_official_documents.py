"""formal documents (公文): issued documents, per-department yearly counters, 文号 prefixes, templates

Revision ID: c5e1a7d93f20
Revises: 8b2f4c6d1e93
Create Date: 2026-12-07 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e1a7d93f20'
down_revision = '8b2f4c6d1e93'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_counter',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_document_counter_department_id_department')),
        sa.PrimaryKeyConstraint('department_id', 'year', name=op.f('pk_document_counter')),
    )
    op.create_table(
        'document_series',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_document_series_department_id_department')),
        sa.PrimaryKeyConstraint('department_id', name=op.f('pk_document_series')),
    )
    op.create_table(
        'document_template',
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('docx', sa.LargeBinary(), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('updated_by', sa.String(length=300), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_document_template')),
    )
    op.create_table(
        'official_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('case_event_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('recipient', sa.String(length=300), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('docx', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['case_event_id'], ['case_event.id'], ondelete='SET NULL',
                                name=op.f('fk_official_document_case_event_id_case_event')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_official_document_complaint_id_complaint')),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_official_document_department_id_department')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_official_document')),
        sa.UniqueConstraint('department_id', 'year', 'seq', name='uq_official_document_number'),
    )
    with op.batch_alter_table('official_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_document_complaint_id'), ['complaint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('official_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_official_document_complaint_id'))
    op.drop_table('official_document')
    op.drop_table('document_template')
    op.drop_table('document_series')
    op.drop_table('document_counter')
