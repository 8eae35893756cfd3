"""oversight statistics indexes: complaints by received/closed time, tasks by stage and completion/due time

Measured in bench/oversight.py (bench/README.md, "Oversight statistics"): the dashboard's period filters.

Revision ID: c33eaaf6988a
Revises: b3e9d5a41c76
Create Date: 2026-11-30 10:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c33eaaf6988a'
down_revision = 'b3e9d5a41c76'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_complaint_closed_at', ['closed_at'], unique=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        # covering: the statistics read a period's tasks from the index alone
        batch_op.create_index('ix_human_task_spec_completed',
                              ['spec_name', 'completed_at', 'created_at', 'outcome', 'complaint_id'], unique=False)
        batch_op.create_index('ix_human_task_spec_due',
                              ['spec_name', 'due_at', 'completed_at', 'outcome', 'complaint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_spec_due')
        batch_op.drop_index('ix_human_task_spec_completed')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_closed_at')
        batch_op.drop_index('ix_complaint_received_at')
