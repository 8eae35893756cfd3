"""`flask --app web accounts …`: officials' sign-in and API tokens — `unlock`, `set-password`, `create-token`,
`list-tokens`, `revoke-token` (the same as 系统管理 → 用户管理 and the profile page do in the browser)."""
from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from engine.db import as_utc
from engine.errors import EngineError
from engine.org import security
from engine.org.models import Official
from engine.org.services import create_token
from web.cli import fail, operator
from web.extensions import db

accounts_group = AppGroup("accounts", help="账号：解除锁定、设置密码、API 令牌的创建、查看和吊销。")


@accounts_group.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """Unlock USERNAME after repeated failed sign-ins."""
    try:
        security.unlock(db.session, username, operator())
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已解锁 {username}")


@accounts_group.command("set-password")
@click.argument("username")
@click.password_option("--password", prompt="新密码", confirmation_prompt="再次输入新密码",
                       help="省略时交互输入（不回显）")
def set_password_command(username: str, password: str) -> None:
    """Set USERNAME's password (at least 10 characters, letters and digits); also unlocks the account."""
    try:
        security.set_password(db.session, username, password, operator())
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已为 {username} 设置新密码")


@accounts_group.command("create-token")
@click.argument("username")
@click.option("--label", default="cli")
def create_token_command(username: str, label: str) -> None:
    """Create an API bearer token for USERNAME and print it once."""
    official = db.session.scalar(select(Official).where(Official.username == username))
    if official is None:
        click.echo(f"没有用户 {username}", err=True)
        raise SystemExit(2)
    token = create_token(db.session, official, label)
    db.session.commit()
    click.echo(token)


@accounts_group.command("list-tokens")
@click.argument("username")
def list_tokens_command(username: str) -> None:
    """List USERNAME's API tokens with creation, last use and revocation."""
    try:
        tokens = security.tokens_of(db.session, username)
    except EngineError as exc:
        fail(exc)
    if not tokens:
        click.echo(f"{username} 没有 API 令牌")
    for token in tokens:
        state = f"已吊销 {_when(token.revoked_at)}" if token.revoked_at else "有效"
        click.echo(f"{token.id}\t{token.label or '-'}\t创建 {_when(token.created_at)}\t"
                   f"最近使用 {_when(token.last_used_at)}\t{state}")


@accounts_group.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see list-tokens)."""
    try:
        token = security.revoke_token(db.session, token_id, operator())
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已吊销令牌 {token.id}（{token.official.username}）")


def _when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else "从未"
