"""Declarative base, time helpers and the unit-of-work helper shared by every domain area."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, MetaData, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import DeclarativeBase, Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every mapped class; Flask-SQLAlchemy is given its metadata."""

    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Aware UTC now; the database stores UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; treat them as the UTC they were stored as."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@contextmanager
def unit_of_work(session: Session, rollback: Callable[[], None] | None = None) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back (with `rollback`, e.g. one that survives a lost
    connection; by default `session.rollback`). A web request's is web/transaction.py's."""
    try:
        yield session
        session.commit()
    except BaseException:
        (rollback or session.rollback)()
        raise


def tune_sqlite(engine: Engine) -> None:
    """WAL journal (synchronous=NORMAL), foreign keys and a busy timeout for every SQLite connection."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no corruption on a crash; an OS crash may lose the last commits. Production runs PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "savepoint")
    def _savepoint(connection: Connection, _name: str) -> None:
        # pysqlite BEGINs only before DML: a SAVEPOINT first in a transaction (begin_nested) would run outside
        # one, and its RELEASE would commit what the caller may still roll back. Open the transaction first.
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")


def _sqlite_from_hint(_compiler: SQLiteCompiler, _table: object, text: str | None) -> str | None:
    return text


# `select.with_hint(Entity, "INDEXED BY ix_…", "sqlite")` is rendered after the table name; SQLAlchemy's SQLite
# compiler drops table hints otherwise. Only statements that give a hint for "sqlite" are affected (the inbox).
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign]
