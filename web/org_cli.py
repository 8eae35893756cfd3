"""CLI for the organisation where no administrator can sign in yet (a new installation): `create-department`,
`create-user`. Everything else is done in the browser (系统管理 → 部门管理 / 用户管理)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from engine.errors import EngineError
from engine.org import admin
from engine.org.models import LEVELS, ROLES
from web.audit_cli import _operator
from web.extensions import db


@click.command("create-department")
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice(list(LEVELS)), required=True, help="province / prefecture / county")
@click.option("--division", "division_code", required=True, help="行政区划代码（6 位）")
@click.option("--prefecture", "prefecture_code", default="", help="所属州（市）代码；省级部门省略")
@click.option("--superior", default="", help="上级部门或主管部门的代码")
@click.option("--uscc", default="", help="统一社会信用代码（必填：机关以 11 开头，事业单位以 12 开头）")
@click.option("--credit-lead", "is_credit_lead", is_flag=True, help="社会信用体系建设牵头单位（发展改革委）")
@with_appcontext
def create_department_command(code: str, name: str, **data: object) -> None:
    """Add the department CODE called NAME (recorded in the audit log as done by the operator)."""
    try:
        admin.create_department(db.session, _operator(), code, name=name, is_active=True, **data)
    except EngineError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"已新增部门 {code}（{name}）")


@click.command("create-user")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="姓名")
@click.option("--department", required=True, help="部门代码")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(list(ROLES)),
              help="角色，可重复：例如 --role sysadmin")
@click.option("--email", default="", help="电子邮箱")
@click.password_option("--password", prompt="初始密码", confirmation_prompt="再次输入初始密码", help="省略时交互输入（不回显）")
@with_appcontext
def create_user_command(username: str, full_name: str, department: str, roles: tuple[str, ...], email: str,
                        password: str) -> None:
    """Add the official USERNAME (the password follows the policy; e.g. the first system administrator)."""
    try:
        admin.create_official(db.session, _operator(), username, full_name, email, department, list(roles), password)
    except EngineError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"已新增用户 {username}")


def _fail(exc: EngineError) -> None:
    db.session.rollback()
    click.echo(exc.message, err=True)
    for field, message in (exc.details.get("errors") or {}).items():
        click.echo(f"  {field}: {message}", err=True)
    raise SystemExit(2)


def init_app(app: Flask) -> None:
    for command in (create_department_command, create_user_command):
        app.cli.add_command(command)
