"""`flask --app web exchange …`: the platform exchange — `deliver` (deliver now, as the scheduler's job does),
`profile` (print a destination's profile as JSON), `load-profile` (store one from a JSON file, audited as the
operator), `reset-profile`."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from engine.credit import exchange, profiles
from engine.credit.jobs import PLATFORM_SETTINGS, deliver_platform, platform_configured
from engine.credit.models import PLATFORM_TARGETS
from engine.errors import EngineError
from web.cli import fail, operator
from web.extensions import db

exchange_group = AppGroup("exchange", help="推送信用信息共享平台：立即推送、查看和维护平台对照。")
TARGETS = click.Choice(list(PLATFORM_TARGETS))


@exchange_group.command("deliver")
@click.option("--target", type=TARGETS, default=None, help="只推送该平台（默认：每个已配置的平台）")
def deliver_command(target: str | None) -> None:
    """Deliver due record versions now to each configured platform; print what was delivered, held and failed."""
    targets = [target] if target else [t for t in PLATFORM_SETTINGS if platform_configured(current_app.config, t)]
    if not targets or not all(platform_configured(current_app.config, t) for t in targets):
        click.echo("未配置推送地址或交换目录（LVYUE_PLATFORM_ENDPOINT / LVYUE_PLATFORM_DROP_DIR 等），没有推送。", err=True)
        raise SystemExit(1)
    for name in targets:
        delivered = deliver_platform(db.session, current_app.config, name)
        held = len(exchange.held_deliveries(db.session, limit=10_000, target=name))
        failed = exchange.failed_deliveries(db.session, limit=10_000, target=name)
        click.echo(f"{PLATFORM_TARGETS[name]}：送达 {delivered} 个版本，暂停推送 {held} 个，失败待重试 {len(failed)} 个"
                   + (f"（最近错误：{failed[-1].last_error}）" if failed else ""))


@exchange_group.command("profile")
@click.argument("target", type=TARGETS)
def profile_command(target: str) -> None:
    """Print TARGET's profile (field names and code lists) as JSON, e.g. to edit and load it again."""
    profile = profiles.profile_for(db.session, target)
    click.echo(json.dumps(profile.as_dict(), ensure_ascii=False, indent=1))


@exchange_group.command("load-profile")
@click.argument("target", type=TARGETS)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_profile_command(target: str, path: Path) -> None:
    """Store TARGET's profile from the JSON file PATH (the `exchange profile` format; parts left out stay)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        click.echo(f"不是有效的 JSON 文件：{exc}", err=True)
        raise SystemExit(2) from exc
    try:
        saved = profiles.save_profile(db.session, operator(), target, data)
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已保存「{PLATFORM_TARGETS[target]}」的平台对照（第 {saved.revision} 版）")


@exchange_group.command("reset-profile")
@click.argument("target", type=TARGETS)
def reset_profile_command(target: str) -> None:
    """Put TARGET back on the default profile."""
    profiles.reset_profile(db.session, operator(), target)
    db.session.commit()
    click.echo(f"「{PLATFORM_TARGETS[target]}」已恢复默认对照")
