"""Thin Flask layer: the app factory wires extensions, blueprints, error mapping and CLI commands."""
from __future__ import annotations

import os
import threading
from typing import Any

from flask import Flask

import engine  # noqa: F401 - first: installs the Chinese marshmallow messages (engine/validation_messages.py)
from web.config import DEV_SECRET_KEY, Defaults, database_url, engine_options


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the application: defaults → instance/config.py → LVYUE_* environment → `test_config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.json.ensure_ascii = False  # Chinese unescaped in JSON answers (Flask 3 ignores JSON_AS_ASCII)
    app.config.from_object(Defaults)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LVYUE")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.instance_path)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config["SQLALCHEMY_DATABASE_URI"]), **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    _refuse_dev_secret(app)
    from web import logs

    logs.init_app(app)  # JSON or text lines with the request id (LOG_FORMAT), X-Request-ID

    from engine.builtin import load_builtin
    from engine.db import tune_sqlite
    from web.extensions import api, csrf, db, login_manager, migrate

    load_builtin()
    from web import inputs

    inputs.init_app(app)  # bounded <int:> ids and query integers, API argument bounds (before any blueprint)
    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
    from web import sessions

    sessions.init_app(app)  # server-side sessions (Flask-Session): the database, or Redis with SESSION_REDIS_URL
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    api.init_app(app)

    from web import admin, auth, cli, errors, filters, intake, metrics, ops, processes, public, security
    from web import audit as audit_pages
    from web.api import register as register_api
    from web.bulletins import init_app as init_bulletins
    from web.cases import bp as cases_bp
    from web.inbox import bp as inbox_bp
    from web.oversight import bp as oversight_bp
    from web.permissions import init_app as init_permissions

    auth.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    cli.init_app(app)
    security.init_app(app)  # headers, secure cookies, client address for audit
    init_permissions(app)  # every endpoint's permission (engine.org.permissions), checked before the view
    inputs.init_nul_guard(app)  # a NUL character in any input → 422 naming the field (after the permission)
    ops.init_app(app)  # /healthz, /readyz, backup and restore
    metrics.init_app(app)  # /metrics for Prometheus (loopback or METRICS_TOKEN)
    audit_pages.init_app(app)  # /audit: search and export the audit log (sysadmin, provincial DRC)
    register_api(api)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(cases_bp)
    admin.init_app(app)  # administration pages (time limits, calendar)
    processes.init_app(app)  # process administration pages, bpmn-js modeler
    public.init_app(app)  # public complaint column + per-IP rate limiter
    app.register_blueprint(intake.bp)  # intake officials: likely duplicates
    app.register_blueprint(oversight_bp)  # 统计调度 dashboard and the cases behind each number
    init_bulletins(app)  # 调度通报, 年度考核 and the bulletins' public page
    from web import credit

    credit.init_app(app)  # breach records, deliveries, typical cases; their public pages
    from web import documents

    documents.init_app(app)  # 公文: downloads of a case's documents, templates per kind
    from web import transaction

    transaction.init_app(app)  # last: every endpoint commits once after its view, or rolls back (web/transaction.py)

    if app.config.get("SCHEDULER_ENABLED"):
        _start_scheduler_with_first_request(app)
    return app


def _start_scheduler_with_first_request(app: Flask) -> None:
    """SCHEDULER_ENABLED: the in-process timer scheduler runs in the process that serves HTTP — started with the
    first request it handles, once. `flask run-scheduler` (its own scheduler), `flask db upgrade` and every other
    command load the same app with the same environment but never serve a request, so they never start a second
    scheduler firing the same timers."""
    lock = threading.Lock()
    serve = app.wsgi_app

    def wsgi_app(environ: dict, start_response: Any) -> Any:
        if "lvyue_scheduler" not in app.extensions:
            with lock:
                if "lvyue_scheduler" not in app.extensions:
                    from web.scheduler import start_in_process

                    start_in_process(app)
        return serve(environ, start_response)

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]


def _refuse_dev_secret(app: Flask) -> None:
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "拒绝启动：正在使用开发用 SECRET_KEY。生产环境请设置环境变量 LVYUE_SECRET_KEY 为随机长字符串。"
            " (Refusing to start with the development secret key; set LVYUE_SECRET_KEY.)"
        )
