"""Configuration: defaults, then the instance folder's config.py, then LVYUE_* environment variables."""
from __future__ import annotations

import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-secret-key-change-me"


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # set from DATABASE_URL or the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    API_TITLE = "Lvyue 履约 — 政府违约失信投诉处置 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure unless debug or testing (web/security.py)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)  # idle timeout; refreshed by every request
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)  # a sign-in ends this long after it began, however active
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_REDIS_URL: str | None = None  # e.g. redis://127.0.0.1:6379/1: session data in Redis, not the database
    # Password sign-in, per username (known or not): LOGIN_FREE_FAILURES consecutive failures pass, each further
    # one delays the next attempt (LOGIN_DELAY_SECONDS, doubling up to LOGIN_MAX_DELAY_SECONDS), the
    # LOGIN_MAX_FAILURES-th locks for LOGIN_LOCK_MINUTES (ends by itself; an administrator may unlock earlier)
    LOGIN_FREE_FAILURES = 3
    LOGIN_DELAY_SECONDS = 2
    LOGIN_MAX_DELAY_SECONDS = 60
    LOGIN_MAX_FAILURES = 10
    LOGIN_LOCK_MINUTES = 15
    LOGIN_RATE_LIMIT = "30 per minute;300 per hour"  # POST /login per client address (Flask-Limiter → 429)
    LOGIN_ACCOUNT_RATE_LIMIT = "10 per minute;100 per hour"  # POST /login per username, from any address
    # following a complaint: after TRACK_MAX_FAILURES wrong phone digits a tracking code is locked for
    # TRACK_LOCK_MINUTES, whatever address the attempts come from
    TRACK_MAX_FAILURES = 10
    TRACK_LOCK_MINUTES = 30
    AUDIT_RETENTION_DAYS = 180  # audit events are kept at least this long; `audit prune` refuses newer dates
    AUDIT_SEAL_SECONDS = 60  # the scheduler seals the audit chains' new heads this often (engine/audit/chains.py)
    PROXY_FIX_X_FOR = 0  # number of trusted reverse proxies in front (client address for the audit log)
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # requests without files; upload forms add EVIDENCE_MAX_TOTAL_BYTES
    EVIDENCE_DIR: str | None = None  # evidence files, outside the web root; default instance/evidence
    EVIDENCE_MAX_FILE_BYTES = 10 * 1024 * 1024  # per file (larger → Chinese 422 naming the file)
    EVIDENCE_MAX_FILES = 10  # per submission
    EVIDENCE_MAX_CASE_FILES = 50  # per case, all submissions together
    EVIDENCE_MAX_TOTAL_BYTES = 40 * 1024 * 1024  # body limit of an upload request beyond MAX_CONTENT_LENGTH (→ 413)
    OBJECTION_WINDOW_DAYS = 15  # calendar days after closing in which the complainant may object (default)
    EVIDENCE_SCANNER: object = None  # callable(path, name) → reason to refuse | None, or "module:function"
    SCHEDULER_ENABLED = False
    SCHEDULER_INTERVAL_SECONDS = 30
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_SENDER = "lvyue-noreply@localhost"
    MAIL_ENABLED = False  # the scheduler's mail job sends the email outbox only when true
    PLATFORM_DEADLINE_SECONDS = 20  # total time allowed per request to a credit platform (connect, send, answer)
    # text messages to complainants (engine/notify/sms.py): "file" (one JSON line per message into SMS_FILE) or
    # "http" (POST to SMS_HTTP_URL with SMS_HTTP_TOKEN as bearer); unset → messages wait in the outbox
    SMS_SENDER: str | None = None
    SMS_FILE: str | None = None
    SMS_HTTP_URL: str | None = None
    SMS_HTTP_TOKEN: str | None = None
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"  # or "json": one JSON object per line (web/logs.py)
    LOG_WORKFLOW_LEVEL = "WARNING"  # SpiffWorkflow's own loggers; INFO: a line per task state change (web/logs.py)


def database_url(instance_path: str) -> str:
    """DATABASE_URL, else SQLite in the instance folder; postgres:// URLs use psycopg 3."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'lvyue.sqlite3')}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}
