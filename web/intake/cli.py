"""`flask --app web intake …`: the channels' API keys — `create-key CHANNEL`, `revoke-key ID`, `list-keys`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from engine.cases.models import CHANNELS
from engine.db import as_utc
from engine.errors import EngineError
from engine.intake import services as intake
from web.cli import fail, operator
from web.extensions import db

intake_group = AppGroup("intake", help="受理渠道：渠道接入密钥（X-Api-Key）的创建、吊销和查看。")


def _when(value: object) -> str:
    moment = as_utc(value)  # type: ignore[arg-type]
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


@intake_group.command("create-key")
@click.argument("channel", type=click.Choice(list(CHANNELS)))
@click.option("--label", default="", help="备注，例如对接系统名称")
def create_channel_key_command(channel: str, label: str) -> None:
    """Create an X-Api-Key for CHANNEL and print it once (only its SHA-256 is stored)."""
    try:
        key, plain = intake.create_channel_key(db.session, channel, label, actor=operator())
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已为渠道 {channel}（{CHANNELS[channel]}）创建密钥 #{key.id}，请妥善保存，此后不再显示：", err=True)
    click.echo(plain)


@intake_group.command("revoke-key")
@click.argument("key_id", type=int)
def revoke_channel_key_command(key_id: int) -> None:
    """Revoke channel key KEY_ID; requests with it get 401 from now on."""
    try:
        key = intake.revoke_channel_key(db.session, key_id, actor=operator())
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已吊销渠道密钥 #{key.id}（{key.channel}）")


@intake_group.command("list-keys")
def list_channel_keys_command() -> None:
    """List channel keys (never the keys themselves)."""
    keys = intake.list_channel_keys(db.session)
    if not keys:
        click.echo("尚无渠道密钥。")
    for key in keys:
        state = f"已吊销 {_when(key.revoked_at)}" if key.revoked_at else "有效"
        click.echo(f"#{key.id}\t{key.channel}\t{key.label or '-'}\t创建 {_when(key.created_at)}\t"
                   f"最近使用 {_when(key.last_used_at)}\t{state}")
