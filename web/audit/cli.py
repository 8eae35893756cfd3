"""`flask --app web audit …`: the audit log — `verify` its hash chains and seals, `seal` the chains' new heads now,
`export` events as JSON lines, `prune` events beyond the retention period."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from engine.audit import services as audit
from engine.db import as_utc, utcnow
from web.cli import operator
from web.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
audit_group = AppGroup("audit", help="审计日志：校验哈希链、封存、导出、按保存期限裁剪。")


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
    deleted = audit.prune(db.session, cutoff, operator())
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
    audit.record(db.session, "audit_exported", operator(), "audit_event", None, after={
        **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v is not None},
        "count": count})
    db.session.commit()
    click.echo(f"已导出 {count} 条审计记录", err=True)
