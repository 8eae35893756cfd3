"""settings generation: one row whose value the database replaces on every change of a settings table (time
limits, entered holiday calendar, 公文 series, templates and template versions), so each process may keep
snapshots of them (engine/settings_cache.py)

Revision ID: 9e4d2b7c1a58
Revises: 7a3c9e1d5b42
Create Date: 2026-12-07 19:40:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9e4d2b7c1a58'
down_revision = '7a3c9e1d5b42'
branch_labels = None
depends_on = None

# as engine/settings_cache.py had them when this migration was written (migrations do not import the app)
TABLE = "settings_generation"
WATCHED = ("time_limit", "calendar_year", "calendar_day", "document_series", "document_template",
           "document_template_version")
PG_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE {TABLE} SET value = floor(random() * 4611686018427387904)::bigint; RETURN NULL; END $$")


def upgrade():
    table = op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settings_generation')),
    )
    op.bulk_insert(table, [{"id": 1, "value": secrets.randbits(62)}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for name in WATCHED:  # a new template version is stored by a transaction of its own inside a step
            events = "UPDATE OR DELETE OR TRUNCATE" if name == "document_template_version" else \
                "INSERT OR UPDATE OR DELETE OR TRUNCATE"
            op.execute(f"CREATE TRIGGER {TABLE}_bump AFTER {events} ON {name} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()")
    else:
        for name in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {TABLE}_{name}_{event.lower()} AFTER {event} ON {name} "
                           f"BEGIN UPDATE {TABLE} SET value = random(); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_bump ON {name}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_bump()")
    else:
        for name in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name}_{event}")
    op.drop_table(TABLE)
