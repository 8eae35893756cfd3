"""CLI for the audit log and account security: `audit verify|seal|prune|export`, `unlock`, `set-password`, tokens."""
from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from engine.audit import services as audit
from engine.db import as_utc, utcnow
from engine.errors import EngineError
from engine.org import security
from web.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
audit_group = AppGroup("audit", help="审计日志：校验哈希链、封存、导出、按保存期限裁剪。")


def _operator() -> str:
    """Who ran a command, as the audit log names it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _fail(exc: EngineError, code: int = 2) -> None:
    db.session.rollback()
    click.echo(exc.message, err=True)
    sys.exit(code)


@audit_group.command("verify")
def verify_command() -> None:
    """Recompute every chain and seal; print OK, or name the first broken event (or chain, or seal) and exit 1."""
    result = audit.verify(db.session)
    db.session.rollback()
    if result.ok:
        click.echo(f"OK {result.message}（{result.chains} 条链，{result.seals} 次封存，"
                   f"{result.unsealed} 条尚待封存）")
        return
    where = f"at id {result.broken_id}" if result.broken_id is not None else "(no single event)"
    click.echo(f"BROKEN {where}: {result.message}", err=True)
    sys.exit(1)


@audit_group.command("seal")
def seal_command() -> None:
    """Seal the heads of the chains that grew since the last seal into the global chain (the scheduler does this
    every AUDIT_SEAL_SECONDS)."""
    made = audit.seal(db.session)
    db.session.commit()
    if made is None:
        click.echo("无需封存：各链自上次封存以来没有新记录（或另一封存任务正在进行）")
        return
    click.echo(f"已封存 {made.chains} 条链（第 {made.id} 次封存，默克尔根 {made.root}，哈希 {made.hash}）")


@audit_group.command("prune")
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="删除此日期（UTC 零点）之前的审计记录；须早于保存期限 AUDIT_RETENTION_DAYS")
def prune_command(before: datetime) -> None:
    """Delete audit events older than --before, only beyond the retention window (AUDIT_RETENTION_DAYS)."""
    days = int(current_app.config["AUDIT_RETENTION_DAYS"])
    cutoff = as_utc(before.replace(tzinfo=UTC))
    oldest_allowed = utcnow() - timedelta(days=days)
    if cutoff > oldest_allowed:
        click.echo(f"拒绝：审计记录须至少保存 {days} 天，--before 不得晚于 {oldest_allowed:%Y-%m-%d}。", err=True)
        sys.exit(2)
    deleted = audit.prune(db.session, cutoff, _operator())
    db.session.commit()
    click.echo(f"已删除 {deleted} 条 {cutoff:%Y-%m-%d} 之前的审计记录")


@audit_group.command("export")
@click.option("--complaint-id", type=int, help="只导出该案件的记录")
@click.option("--actor", help="用户名或用户 ID")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="起（含），北京时间")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="止（不含），北京时间")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="输出文件（默认标准输出）")
def export_command(complaint_id: int | None, actor: str | None, since: datetime | None, until: datetime | None,
                   output: TextIO) -> None:
    """Export matching audit events as JSON lines, oldest first, with their hashes. The export is audited."""
    filters = {"complaint_id": complaint_id, "actor": actor,
               "since": since.replace(tzinfo=SHANGHAI) if since else None,
               "until": until.replace(tzinfo=SHANGHAI) if until else None}
    count, page = 0, 1000
    while True:
        rows = audit.search(db.session, **filters, limit=page, offset=count)
        for event in rows:
            output.write(json.dumps(audit.as_dict(event), ensure_ascii=False) + "\n")
        count += len(rows)
        if len(rows) < page:
            break
    audit.record(db.session, "audit_exported", _operator(), "audit_event", None, after={
        **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v is not None},
        "count": count})
    db.session.commit()
    click.echo(f"已导出 {count} 条审计记录", err=True)


@click.command("unlock")
@click.argument("username")
@with_appcontext
def unlock_command(username: str) -> None:
    """Unlock USERNAME after repeated failed sign-ins."""
    try:
        security.unlock(db.session, username, _operator())
    except EngineError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"已解锁 {username}")


@click.command("set-password")
@click.argument("username")
@click.password_option("--password", prompt="新密码", confirmation_prompt="再次输入新密码",
                       help="省略时交互输入（不回显）")
@with_appcontext
def set_password_command(username: str, password: str) -> None:
    """Set USERNAME's password (at least 10 characters, letters and digits); also unlocks the account."""
    try:
        security.set_password(db.session, username, password, _operator())
    except EngineError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"已为 {username} 设置新密码")


@click.command("list-tokens")
@click.argument("username")
@with_appcontext
def list_tokens_command(username: str) -> None:
    """List USERNAME's API tokens with creation, last use and revocation."""
    try:
        tokens = security.tokens_of(db.session, username)
    except EngineError as exc:
        _fail(exc)
    if not tokens:
        click.echo(f"{username} 没有 API 令牌")
    for token in tokens:
        state = f"已吊销 {_when(token.revoked_at)}" if token.revoked_at else "有效"
        click.echo(f"{token.id}\t{token.label or '-'}\t创建 {_when(token.created_at)}\t"
                   f"最近使用 {_when(token.last_used_at)}\t{state}")


@click.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see list-tokens)."""
    try:
        token = security.revoke_token(db.session, token_id, _operator())
    except EngineError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"已吊销令牌 {token.id}（{token.official.username}）")


def _when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else "从未"


def init_app(app: Flask) -> None:
    for command in (audit_group, unlock_command, set_password_command, list_tokens_command, revoke_token_command):
        app.cli.add_command(command)
