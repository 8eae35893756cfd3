"""Operations: liveness and readiness endpoints, and `flask --app web backup` / `restore`."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from functools import cache
from pathlib import Path

import click
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask
from flask.cli import with_appcontext
from sqlalchemy import select, text
from sqlalchemy.engine import URL

from engine.org.permissions import PUBLIC
from web.extensions import db
from web.permissions import protect

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
bp = Blueprint("ops", __name__)
protect(bp, PUBLIC)  # liveness and readiness answer anyone (load balancers, probes)


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict]:
    """Liveness: the process answers. Touches nothing else."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/readyz")
def readyz() -> tuple[str, int, dict]:
    """Readiness: the database answers and its schema is at the migrations' head."""
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
        logger.warning("readyz: database unreachable: %s", exc)
        return f"database unreachable: {type(exc).__name__}", 503, plain
    head = migration_head()
    if current != head:
        return f"migrations not current: database at {current or 'none'}, code at {head}", 503, plain
    return "ready", 200, plain


@cache
def migration_head() -> str | None:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


@click.command("backup")
@click.argument("outfile", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(outfile: Path) -> None:
    """Back up the database to OUTFILE (SQLite: online backup API; PostgreSQL: pg_dump custom format)."""
    try:
        backup_database(db.engine.url, outfile)
    except OpsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    click.echo(f"已备份到 {outfile}")


@click.command("restore")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不提示确认（脚本中使用）")
@with_appcontext
def restore_command(infile: Path, yes: bool) -> None:
    """Replace the database's contents with the backup INFILE. Stop the app and scheduler first."""
    url = db.engine.url
    if not yes:
        click.confirm(f"将用 {infile} 覆盖数据库 {url.render_as_string(hide_password=True)} 的全部内容，确定？", abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        restore_database(url, infile)
    except OpsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    finally:
        db.engine.dispose()
    click.echo(f"已从 {infile} 恢复")


class OpsError(Exception):
    """A backup or restore failed; the message says why, in Chinese."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def backup_database(url: URL, outfile: Path) -> None:
    """SQLite: page-by-page copy with the backup API (consistent while the app writes); PostgreSQL: pg_dump."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        _sqlite_copy(Path(url.database or ""), outfile)
    elif backend == "postgresql":
        _run(url, ["pg_dump", "--format=custom", "--no-owner", f"--file={outfile}", f"--dbname={_libpq(url)}"])
    else:
        raise OpsError(f"不支持的数据库：{backend}", 2)
    logger.info("backup of %s written to %s", url.render_as_string(hide_password=True), outfile)


def restore_database(url: URL, infile: Path) -> None:
    """Replace everything in the database with the backup (PostgreSQL: in one transaction)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        _sqlite_copy(infile, Path(url.database or ""))
    elif backend == "postgresql":
        _run(url, ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                   f"--dbname={_libpq(url)}", str(infile)])
    else:
        raise OpsError(f"不支持的数据库：{backend}", 2)
    logger.warning("database %s restored from %s", url.render_as_string(hide_password=True), infile)


@click.command("check-consistency")
@click.option("--complaint-id", type=int, help="只检查该案件的流程实例")
@with_appcontext
def check_consistency_command(complaint_id: int | None) -> None:
    """Check that every instance's state, inbox rows, case history and audit log agree (e.g. after a crash)."""
    from engine.workflow import consistency
    from engine.workflow.models import ProcessInstance

    ids = None
    if complaint_id is not None:
        ids = list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.subject_id == complaint_id)))
    report = consistency.check(db.session, ids)
    db.session.rollback()
    for line in report.lines():
        click.echo(line)
    click.echo(f"{'一致' if report.ok else '不一致'}：检查流程实例 {report.instances} 个、任务 {report.tasks} 项"
               f"（已办理 {report.completed} 项）")
    if not report.ok:
        sys.exit(1)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    for command in (backup_command, restore_command, check_consistency_command):
        app.cli.add_command(command)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise OpsError(f"数据库文件不存在：{source}", 2)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _libpq(url: URL) -> str:
    """The URL as libpq understands it: no +driver, no password (that goes in PGPASSWORD, not argv)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(url: URL, args: list[str]) -> None:
    if shutil.which(args[0]) is None:
        raise OpsError(f"找不到 {args[0]}：请安装 PostgreSQL 客户端（版本不低于服务器）", 2)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # Fail instead of waiting forever when the app still holds locks on the tables being replaced.
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c lock_timeout=60s").strip()
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise OpsError(f"{args[0]} 失败：{result.stderr.strip()}")
