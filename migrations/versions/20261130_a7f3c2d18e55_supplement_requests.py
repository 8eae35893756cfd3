"""supplement requests (补正)

Revision ID: a7f3c2d18e55
Revises: e51d3a7c9f02
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7f3c2d18e55'
down_revision = 'e51d3a7c9f02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supplement_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_supplement_request_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_supplement_request_department_id_department')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['official.id'], name=op.f('fk_supplement_request_requested_by_id_official')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplement_request'))
    )
    with op.batch_alter_table('supplement_request', schema=None) as batch_op:
        batch_op.create_index('ix_supplement_request_complaint_open', ['complaint_id', 'answered_at'], unique=False)


def downgrade():
    with op.batch_alter_table('supplement_request', schema=None) as batch_op:
        batch_op.drop_index('ix_supplement_request_complaint_open')
    op.drop_table('supplement_request')
