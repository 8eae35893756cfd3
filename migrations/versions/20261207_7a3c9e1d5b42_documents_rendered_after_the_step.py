"""formal documents rendered after the step: the step fixes number, content (context) and template version;
the .docx is rendered from them on first download

Revision ID: 7a3c9e1d5b42
Revises: 6d2b8e4f1a57
Create Date: 2026-12-07 18:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7a3c9e1d5b42'
down_revision = '6d2b8e4f1a57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_template_version',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('docx', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_document_template_version')),
    )
    with op.batch_alter_table('official_document', schema=None) as batch_op:
        batch_op.alter_column('docx', existing_type=sa.LargeBinary(), nullable=True)
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('template_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('official_document', schema=None) as batch_op:
        batch_op.drop_column('template_sha256')
        batch_op.drop_column('context')
    op.drop_table('document_template_version')
