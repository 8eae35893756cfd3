"""workflow runtime knows no complaint: process_instance.complaint_id and human_task.complaint_id become subject_id

The columns keep their values and their foreign key to complaint.id (declared now by engine/cases/models.py, the
owner of the link); the foreign keys and indexes are renamed after the column. Batch mode, so SQLite copies the
tables; PostgreSQL renames the column in place and recreates the foreign keys and indexes.

Revision ID: 6d2b8e4f1a57
Revises: 5ce7a1b2c3d4
Create Date: 2026-12-07 17:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '6d2b8e4f1a57'
down_revision = '5ce7a1b2c3d4'
branch_labels = None
depends_on = None

# the covering indexes of the oversight statistics (20261130_c33eaaf6988a_oversight_indexes) end in the column
_COVERING = {
    'ix_human_task_spec_completed': ['spec_name', 'completed_at', 'created_at', 'outcome'],
    'ix_human_task_spec_due': ['spec_name', 'due_at', 'completed_at', 'outcome'],
}


def _rename(table: str, old: str, new: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        if table == 'human_task':
            for name in _COVERING:
                batch_op.drop_index(name)
        batch_op.drop_index(f'ix_{table}_{old}')
        batch_op.drop_constraint(f'fk_{table}_{old}_complaint', type_='foreignkey')
        batch_op.alter_column(old, new_column_name=new, existing_type=sa.Integer(), existing_nullable=True)
    # a second batch: SQLite's copy keeps addressing a renamed column by its old name until the table is rebuilt
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_foreign_key(f'fk_{table}_{new}_complaint', 'complaint', [new], ['id'])
        batch_op.create_index(f'ix_{table}_{new}', [new], unique=False)
        if table == 'human_task':
            for name, columns in _COVERING.items():
                batch_op.create_index(name, [*columns, new], unique=False)


def upgrade():
    for table in ('process_instance', 'human_task'):
        _rename(table, 'complaint_id', 'subject_id')


def downgrade():
    for table in ('human_task', 'process_instance'):
        _rename(table, 'subject_id', 'complaint_id')
