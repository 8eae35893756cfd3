"""Read-mostly settings kept in each process and never served stale: the settings generation.

Time limits, the entered holiday calendar, 公文 series and templates change a few times a year but were read again
by every step (a time limit for the next task's due time, a series, a template and its stored version per 公文).
Each process now keeps plain immutable snapshots of them (`cached`), each filed under the **settings generation**
read in the same statement as its rows; a snapshot is used while the generation is unchanged.

The generation is a one-row table, `settings_generation`, whose value the database itself replaces by a random
64-bit number on every insert, update or delete (and, on PostgreSQL, truncate) of a watched table (`WATCHED`):
triggers catch every writer — the ORM, Core, raw SQL, `flask` commands, `psql`, a restore. A random value rather
than a counter: a rolled-back change, a recreated or another database never reuses a value a snapshot was filed
under, so equal generations mean equal settings. (One exception, PG_INSERT_NOT_WATCHED, is explained there.)

A step learns the generation without a statement of its own: its first read (engine/workflow/instances.py:
`_load_for_step`) joins the row in (`with_generation`) and notes the value for its transaction (`note`). Anything
else reads it once per transaction with one small statement (`generation`). A change committed before a step's
first statement is therefore seen by that step, in this process and every other. A change written in the same
transaction through the session (ORM flush, `session.execute` of DML or text naming a watched table) makes the
transaction read the generation again, so it sees its own change; a write on another connection is another
transaction. Without the row (a database not migrated to it has none) nothing is cached.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Integer, Select, TextClause, event, select, true
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, object_session, scoped_session
from sqlalchemy.schema import Table

from engine.db import Base

T = TypeVar("T")

TABLE = "settings_generation"
# the tables whose rows the snapshots hold; their owners call `watch` on them
WATCHED = ("time_limit", "calendar_year", "calendar_day", "document_series", "document_template",
           "document_template_version")
_NOTED = "lvyue_settings_generation"  # session.info: (the transaction it was read in, the generation)


class SettingsGeneration(Base):
    """One row (id 1): a random value the database replaces whenever a watched settings table changes."""

    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def new_value() -> int:
    return secrets.randbits(62)


# --- the database's side: the row and the triggers (create_all here; migrations/versions/…_settings_generation) --

PG_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE {TABLE} SET value = floor(random() * 4611686018427387904)::bigint; RETURN NULL; END $$")


# On PostgreSQL a new template version is written by a short transaction of its own inside a step (engine/documents/
# services.py: _keep_template): replacing the generation there would wait for any transaction holding the row —
# the step's own, if it changed a setting before issuing, which then waits for it in turn. Versions are immutable:
# a version stored there is added to the kept snapshot by the code that stored it; removing one still counts.
PG_INSERT_NOT_WATCHED = ("document_template_version",)


def trigger_ddl(table: str, dialect: str) -> list[str]:
    """The statements that make every change of `table` replace the generation (for create_all and migrations)."""
    if dialect == "postgresql":
        events = ("UPDATE OR DELETE OR TRUNCATE" if table in PG_INSERT_NOT_WATCHED
                  else "INSERT OR UPDATE OR DELETE OR TRUNCATE")
        return [PG_FUNCTION,
                f"CREATE TRIGGER {TABLE}_bump AFTER {events} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()"]
    return [f"CREATE TRIGGER {TABLE}_{table}_{op.lower()} AFTER {op} ON {table} "
            f"BEGIN UPDATE {TABLE} SET value = random(); END" for op in ("INSERT", "UPDATE", "DELETE")]


def drop_trigger_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_bump ON {table}"]
    return [f"DROP TRIGGER IF EXISTS {TABLE}_{table}_{op}" for op in ("insert", "update", "delete")]


def watch(cls: type) -> None:
    """Keep the generation for mapped class `cls` (called by its owner): the triggers come with its table wherever
    the schema is made without Alembic (metadata.create_all), and a flush of its rows makes the session read the
    generation again."""
    table: Table = cls.__table__  # type: ignore[attr-defined]
    assert table.name in WATCHED, table.name

    def create(target: Table, connection: Connection, **_kw: Any) -> None:
        for statement in trigger_ddl(target.name, connection.dialect.name):
            connection.exec_driver_sql(statement)

    def changed(_mapper: Any, _connection: Any, target: Any) -> None:
        session = object_session(target)
        if session is not None:
            forget(session)

    event.listen(table, "after_create", create)
    for name in ("after_insert", "after_update", "after_delete"):
        event.listen(cls, name, changed)


@event.listens_for(SettingsGeneration.__table__, "after_create")
def _first_row(target: Table, connection: Connection, **_kw: Any) -> None:
    connection.execute(target.insert().values(id=1, value=new_value()))


@event.listens_for(SettingsGeneration.__table__, "after_drop")
def _drop_function(_target: Table, connection: Connection, **_kw: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TABLE}_bump() CASCADE")


# --- the generation of a transaction --------------------------------------------------------------------------

def with_generation(statement: Select) -> Select:
    """`statement` with the generation as its last column (NULL without the row): a step's first read takes it
    along instead of a statement of its own. Pass the value to `note`."""
    return statement.add_columns(SettingsGeneration.value).outerjoin(SettingsGeneration, SettingsGeneration.id == 1)


def _plain(session: Session | scoped_session) -> Session:
    """The session itself (Flask-SQLAlchemy hands views a scoped_session, which has no get_transaction)."""
    return session() if isinstance(session, scoped_session) else session


def note(session: Session, value: int | None) -> None:
    """Remember `value`, read in the session's current transaction, as that transaction's generation."""
    session = _plain(session)
    session.info[_NOTED] = (session.get_transaction(), value)


def generation(session: Session) -> int | None:
    """The generation of the session's transaction: the noted one, else read now (one statement)."""
    session = _plain(session)
    noted = session.info.get(_NOTED)
    if noted is not None and noted[0] is not None and noted[0] is session.get_transaction():
        return noted[1]
    value = session.scalar(select(SettingsGeneration.value).where(SettingsGeneration.id == 1))
    note(session, value)
    return value


def forget(session: Session) -> None:
    """The transaction changed settings itself: read the generation again before the next snapshot is used."""
    _plain(session).info.pop(_NOTED, None)


@event.listens_for(Session, "do_orm_execute")
def _statement_writes_settings(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        text = statement.text.lower()
        if any(name in text for name in WATCHED):
            forget(state.session)
    elif state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        if getattr(table, "name", None) in WATCHED:
            forget(state.session)


# --- the snapshots --------------------------------------------------------------------------------------------

_SNAPSHOTS: dict[str, tuple[int, Any]] = {}  # part → (generation it was read at, immutable snapshot)
_LOCK = threading.Lock()


def read_with_generation(session: Session, columns: Sequence[Any]) -> tuple[int | None, list[Row]]:
    """Every row of `columns`' table and, in the same statement, the generation (None without its row: then the
    rows are read alone)."""
    table = columns[0].table
    rows = session.execute(select(SettingsGeneration.value, *columns).select_from(SettingsGeneration)
                           .outerjoin(table, true()).where(SettingsGeneration.id == 1)).all()
    if not rows:
        return None, list(session.execute(select(*columns)).all())
    return rows[0][0], [row[1:] for row in rows if row[1] is not None]  # the first column: a key, never NULL


def cached(session: Session, part: str, load: Callable[[Session], tuple[int | None, T]]) -> T:
    """The snapshot `part` for the session's transaction: kept if filed under its generation, else
    `load(session)` → (generation read with the rows, snapshot), filed under that generation.

    A snapshot read just now is used even when its generation differs from the transaction's (a change committed
    in between): it is what a read now returns."""
    wanted = generation(session)
    kept = _SNAPSHOTS.get(part)
    if wanted is not None and kept is not None and kept[0] == wanted:
        return kept[1]
    read_at, snapshot = load(session)
    if read_at is not None:
        with _LOCK:
            _SNAPSHOTS[part] = (read_at, snapshot)
    return snapshot


def add_to(session: Session, part: str, item: Any) -> None:
    """Add `item` to the frozenset snapshot `part` if it is filed under the session's generation: for a row the
    caller just committed on a connection of its own, in a table whose inserts do not change the generation."""
    wanted = generation(session)
    with _LOCK:
        kept = _SNAPSHOTS.get(part)
        if wanted is not None and kept is not None and kept[0] == wanted:
            _SNAPSHOTS[part] = (wanted, kept[1] | {item})


def clear() -> None:
    """Drop every snapshot (never needed for correctness)."""
    with _LOCK:
        _SNAPSHOTS.clear()
