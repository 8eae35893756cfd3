"""Platform exchange: record and measure numbers (UUIDs), the measure's department and ending document, the body
sent and its digest, held deliveries, destination profiles

Revision ID: 8c1f4e2a9b37
Revises: 8c1e4b7a2d90
Create Date: 2026-12-07 09:00:00

Existing records and measures get a fresh UUID each; a measure's department is its official's department, or the
provincial credit office for measures applied by the system.
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '8c1f4e2a9b37'
down_revision = '8c1e4b7a2d90'
branch_labels = None
depends_on = None


def _number_rows(table: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id FROM {table} WHERE number IS NULL")).scalars().all()
    for row_id in rows:
        bind.execute(sa.text(f"UPDATE {table} SET number = :n WHERE id = :id"), {"n": str(uuid.uuid4()), "id": row_id})


def upgrade():
    op.create_table('exchange_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('measure_fields', sa.JSON(), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_profile')),
    sa.UniqueConstraint('target', name=op.f('uq_exchange_profile_target'))
    )
    with op.batch_alter_table('breach_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=36), nullable=True))
    with op.batch_alter_table('applied_measure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('end_document_number', sa.String(length=100), nullable=True))
    with op.batch_alter_table('platform_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('content_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('held_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))

    _number_rows('breach_record')
    _number_rows('applied_measure')
    op.execute(
        "UPDATE applied_measure SET department_id = "
        "(SELECT official.department_id FROM official WHERE official.id = applied_measure.applied_by_id) "
        "WHERE applied_by_id IS NOT NULL")
    op.execute(
        "UPDATE applied_measure SET department_id = "
        "(SELECT MIN(department.id) FROM department WHERE department.level = 'province' "
        "AND department.is_credit_lead = true) WHERE department_id IS NULL")

    with op.batch_alter_table('breach_record', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_breach_record_number'), ['number'])
    with op.batch_alter_table('applied_measure', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_applied_measure_number'), ['number'])
        batch_op.create_foreign_key(batch_op.f('fk_applied_measure_department_id_department'), 'department',
                                    ['department_id'], ['id'])


def downgrade():
    with op.batch_alter_table('platform_delivery', schema=None) as batch_op:
        batch_op.drop_column('held_at')
        batch_op.drop_column('held_reason')
        batch_op.drop_column('content_digest')
        batch_op.drop_column('body')
    with op.batch_alter_table('applied_measure', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_applied_measure_department_id_department'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_applied_measure_number'), type_='unique')
        batch_op.drop_column('end_document_number')
        batch_op.drop_column('department_id')
        batch_op.drop_column('number')
    with op.batch_alter_table('breach_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_breach_record_number'), type_='unique')
        batch_op.drop_column('number')
    op.drop_table('exchange_profile')
