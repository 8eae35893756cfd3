"""The one owner of a request's transaction.

Every view runs inside the request's unit of work (`owned`, put on all endpoints by `init_app`, using
`engine/db.py: unit_of_work`): a view that returns normally is committed once, right after it; an exception rolls
the whole request back and is answered by web/errors.py — JSON under /api/, the page the view declares with
`web.errors.refused` (a Chinese flash and a redirect, or the form again), or the error page. Views parse, call the engine, render; they never commit or roll back.

What a view may ask of the owner, all here:
- `@dry_run`: roll back instead of committing (trial runs and previews that must leave nothing behind);
- `after_commit(action)`: run `action` once this request's transaction is committed (a background thread that
  reads what the request wrote);
- `commit_now()`: commit what the request did so far, for writes that must stand whatever follows — the signed-in
  session's or token's last use noted while loading the caller (before any view, which may still refuse);
- `start_over()`: discard what the request did so far, so that an operation can run again on a clean transaction
  (a completion that met a timer's step, web/completion.py).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g

from engine.db import unit_of_work
from web.extensions import db

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
AFTER_COMMIT = "lvyue_after_commit"


def owned(view: Callable[..., Any]) -> Callable[..., Any]:
    """`view` inside the request's unit of work (engine/db.py): committed when it returns, rolled back when it
    raises; then the `after_commit` actions."""
    if getattr(view, "lvyue_owned", False):
        return view

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        g.pop(AFTER_COMMIT, None)
        try:
            with unit_of_work(db.session, rollback=rollback_quietly):
                answer = view(*args, **kwargs)
                if getattr(view, "dry_run", False):
                    rollback_quietly()  # the commit that follows has nothing to write
        except BaseException:
            g.pop(AFTER_COMMIT, None)
            raise
        for action in g.pop(AFTER_COMMIT, []):
            action()
        return answer

    run.lvyue_owned = True  # type: ignore[attr-defined]
    return run


def dry_run(view: F) -> F:
    """Mark `view`: what it wrote is rolled back, never committed."""
    view.dry_run = True  # type: ignore[attr-defined]
    return view


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` after this request's commit (never when it rolls back)."""
    g.setdefault(AFTER_COMMIT, []).append(action)


def commit_now() -> None:
    """Commit what the request did so far (see the module's docstring for who may)."""
    db.session.commit()


def start_over() -> None:
    """Roll back what the request did so far; the request goes on in a new transaction."""
    db.session.rollback()


def rollback_quietly() -> None:
    """Roll the request's database session back; when its connection is gone (the ROLLBACK fails), discard the
    session and the connection instead of raising — the request's answer stands."""
    try:
        db.session.rollback()
    except Exception as exc:
        logger.warning("rolling back the database session failed (%s); its connection is discarded", exc)
        close_session_quietly()


def close_session_quietly() -> None:
    """End the request's database session without ever raising: a ROLLBACK on a connection the server has just
    closed fails, and that must not turn the answer into the WSGI server's own error page. The connection is
    then discarded (invalidated) instead of going back to the pool."""
    registry = db.session.registry
    if not registry.has():
        return
    session = registry()
    try:
        session.close()
    except Exception as exc:  # the connection is gone; nothing of this request can be saved any more
        logger.warning("closing the database session failed (%s); its connection is discarded", exc)
        try:
            session.invalidate()
        except Exception as again:
            logger.warning("discarding the connection failed too: %s", again)
    finally:
        registry.clear()


def init_app(app: Flask) -> None:
    """Put every endpoint registered so far into its unit of work (call after all blueprints)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = owned(view)
