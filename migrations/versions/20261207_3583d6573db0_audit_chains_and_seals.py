"""audit chains and seals: one hash chain per case (shards for the rest) sealed into a global chain

The single global chain becomes the legacy chain -1: every existing event keeps its hash and prev_hash and gets
its position (seq = its rank by id); its head row is written so that new events may follow it. New events go to
the chain of their case or a shard (engine/audit/chains.py). Downgrading drops chains and seals: events written
after the upgrade then no longer form one chain, and `audit verify` of the old code reports them broken.

Revision ID: 3583d6573db0
Revises: c5e1a7d93f20
Create Date: 2026-12-01 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3583d6573db0'
down_revision = 'c5e1a7d93f20'
branch_labels = None
depends_on = None

LEGACY_CHAIN = -1


def upgrade():
    op.create_table('audit_chain',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('sealed_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain'))
    )
    with op.batch_alter_table('audit_chain', schema=None) as batch_op:
        batch_op.create_index('ix_audit_chain_unsealed', ['id'], unique=False,
                              postgresql_where=sa.text('seq > sealed_seq'), sqlite_where=sa.text('seq > sealed_seq'))

    op.create_table('audit_seal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('cutoff', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chains', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_seal')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_seal_hash'))
    )
    op.create_table('audit_seal_entry',
    sa.Column('seal_id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['seal_id'], ['audit_seal.id'], name=op.f('fk_audit_seal_entry_seal_id_audit_seal')),
    sa.PrimaryKeyConstraint('seal_id', 'chain', name=op.f('pk_audit_seal_entry'))
    )
    with op.batch_alter_table('audit_seal_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_seal_entry_chain_seq', ['chain', 'seq'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
    # the old global chain, in id order, is the legacy chain
    op.execute(sa.text(
        "UPDATE audit_event SET chain = :chain, seq = ranked.position FROM "
        "(SELECT id AS ranked_id, row_number() OVER (ORDER BY id) AS position FROM audit_event) AS ranked "
        "WHERE audit_event.id = ranked.ranked_id").bindparams(chain=LEGACY_CHAIN))
    op.execute(sa.text(
        "INSERT INTO audit_chain (id, seq, head, sealed_seq) "
        "SELECT :chain, seq, hash, 0 FROM audit_event WHERE chain = :chain "
        "AND seq = (SELECT max(seq) FROM audit_event WHERE chain = :chain)").bindparams(chain=LEGACY_CHAIN))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('chain', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_audit_event_chain_seq', ['chain', 'seq'])


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_event_chain_seq', type_='unique')
        batch_op.drop_column('seq')
        batch_op.drop_column('chain')

    with op.batch_alter_table('audit_seal_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_seal_entry_chain_seq')

    op.drop_table('audit_seal_entry')
    op.drop_table('audit_seal')
    with op.batch_alter_table('audit_chain', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_chain_unsealed', postgresql_where=sa.text('seq > sealed_seq'),
                            sqlite_where=sa.text('seq > sealed_seq'))

    op.drop_table('audit_chain')
