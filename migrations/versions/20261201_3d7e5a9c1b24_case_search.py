"""case search: substring search over tracking code, complainant, USCC and respondent in the database

SQLite: an FTS5 table with the trigram tokenizer (external content = complaint), filled from the existing rows
and kept in sync by triggers. PostgreSQL: pg_trgm and one GIN index over the four columns.

A later migration that rebuilds the complaint table in SQLite batch mode (copy and rename) drops these triggers:
it must create them again (tests/integration/test_migrations.py checks they exist at head).

Revision ID: 3d7e5a9c1b24
Revises: 5e2c7b9a0d14
Create Date: 2026-12-01 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3d7e5a9c1b24'
down_revision = '5e2c7b9a0d14'
branch_labels = None
depends_on = None

COLUMNS = "tracking_code, complainant_name, complainant_uscc, respondent_name"
NEW = "new.tracking_code, new.complainant_name, new.complainant_uscc, new.respondent_name"
OLD = "old.tracking_code, old.complainant_name, old.complainant_uscc, old.respondent_name"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE complaint_fts USING fts5({COLUMNS}, content='complaint', "
                   "content_rowid='id', tokenize='trigram')")
        op.execute(f"CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN "
                   f"INSERT INTO complaint_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END")
        op.execute(f"CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN "
                   f"INSERT INTO complaint_fts(complaint_fts, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD}); END")
        op.execute(f"CREATE TRIGGER complaint_fts_update AFTER UPDATE OF {COLUMNS} ON complaint BEGIN "
                   f"INSERT INTO complaint_fts(complaint_fts, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD}); "
                   f"INSERT INTO complaint_fts(rowid, {COLUMNS}) VALUES (new.id, {NEW}); END")
        op.execute("INSERT INTO complaint_fts(complaint_fts) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_complaint_trgm ON complaint USING gin (tracking_code gin_trgm_ops, "
                   "complainant_name gin_trgm_ops, complainant_uscc gin_trgm_ops, respondent_name gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("complaint_fts_update", "complaint_fts_delete", "complaint_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_complaint_trgm")  # the extension stays: other objects may use it
