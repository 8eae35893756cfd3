"""Server-side browser sessions (Flask-Session): the cookie carries only a random id; the data lives in the
database (`web_session`, the default) or in Redis (`SESSION_REDIS_URL`). Signing out deletes it, so a copied or
replayed cookie signs nobody in. Which sessions an official has, and their idle and absolute lifetimes, are kept
in `official_session` (engine/org/sessions.py), checked by the user loader (web/auth).

Times come from `time.time()` (`now()`), so tests can move the clock.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, g
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from sqlalchemy import Connection, delete, select, update

from engine.db import as_utc
from engine.org.models import WebSession
from web.extensions import db
from web.transaction import rollback_quietly

REFRESH_EVERY = timedelta(seconds=60)  # an unchanged session's stored expiry is renewed at most this often


def now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


class DatabaseSessionInterface(ServerSideSessionInterface):
    """Flask-Session's interface on our own table, each read and write in a short transaction of its own (not
    the request's, which web/transaction.py commits or rolls back)."""

    ttl = False  # expired rows are deleted when met and by `flask session_cleanup`

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        with db.engine.connect() as conn:
            row = conn.execute(select(WebSession.data, WebSession.expiry).where(WebSession.id == store_id)).first()
        if row is None:
            return None
        if as_utc(row.expiry) <= now():
            self._delete_session(store_id)
            return None
        g.web_session_expiry = as_utc(row.expiry)
        return self.serializer.decode(row.data)

    def _delete_session(self, store_id: str) -> None:
        with _store() as conn:
            conn.execute(delete(WebSession).where(WebSession.id == store_id))

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        expiry = now() + session_lifetime
        data = self.serializer.encode(session)
        with _store() as conn:
            changed = conn.execute(update(WebSession).where(WebSession.id == store_id)
                                   .values(data=data, expiry=expiry)).rowcount
            if not changed:
                conn.execute(WebSession.__table__.insert().values(id=store_id, data=data, expiry=expiry))

    def _delete_expired_sessions(self) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(WebSession).where(WebSession.expiry <= now()))

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        # The view's work is committed or rolled back by now (web/transaction.py); what is still open (an error
        # page's reads, a refusal before any view) would be rolled back at teardown anyway. End it now, or on SQLite
        # its write lock would make the store's own transaction wait.
        if db.session().in_transaction():
            rollback_quietly()  # on a connection the server has just closed this must not turn the answer into a 500
        super().save_session(app, session, response)

    def should_set_storage(self, app: Flask, session: ServerSideSession) -> bool:
        """Write when the data changed, else renew the stored expiry at most once a minute."""
        if session.modified:
            return True
        stored = g.get("web_session_expiry")
        return stored is None or stored - now() <= app.permanent_session_lifetime - REFRESH_EVERY


@contextmanager
def _store() -> Iterator[Connection]:
    """A short transaction of its own — or the request's, if one is open when a view renews the id (it would
    otherwise wait for that transaction's SQLite write lock)."""
    request_session = db.session()
    if request_session.in_transaction():
        yield request_session.connection()
        return
    with db.engine.begin() as conn:
        yield conn


def init_app(app: Flask) -> None:
    """Install the session interface: Redis when SESSION_REDIS_URL is set, else the database."""
    options: dict[str, Any] = {"key_prefix": "session:", "use_signer": False, "permanent": True,
                               "sid_length": 32, "serialization_format": "msgpack"}
    url = app.config.get("SESSION_REDIS_URL")
    if url:
        import redis
        from flask_session.redis import RedisSessionInterface

        app.session_interface = RedisSessionInterface(app, client=redis.Redis.from_url(url),
                                                      **{**options, "key_prefix": "lvyue:session:"})
    else:
        app.session_interface = DatabaseSessionInterface(app, **options)
