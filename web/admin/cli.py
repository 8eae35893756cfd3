"""`flask --app web org …`: the organisation where no administrator can sign in yet (a new installation) —
`create-department`, `create-user` — and the demo organisation (`seed-demo`). Everything else is done in the
browser (系统管理 → 部门管理 / 用户管理)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from engine.errors import EngineError
from engine.org import admin
from engine.org.demo import DEMO_PASSWORD, load_demo_organisation
from engine.org.models import LEVELS, ROLES
from web.cli import fail, operator
from web.extensions import db

org_group = AppGroup("org", help="组织机构：新装系统时新增部门和用户，载入演示数据。")


@org_group.command("create-department")
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice(list(LEVELS)), required=True, help="province / prefecture / county")
@click.option("--division", "division_code", required=True, help="行政区划代码（6 位）")
@click.option("--prefecture", "prefecture_code", default="", help="所属州（市）代码；省级部门省略")
@click.option("--superior", default="", help="上级部门或主管部门的代码")
@click.option("--uscc", default="", help="统一社会信用代码（必填：机关以 11 开头，事业单位以 12 开头）")
@click.option("--credit-lead", "is_credit_lead", is_flag=True, help="社会信用体系建设牵头单位（发展改革委）")
def create_department_command(code: str, name: str, **data: object) -> None:
    """Add the department CODE called NAME (recorded in the audit log as done by the operator)."""
    try:
        admin.create_department(db.session, operator(), code, name=name, is_active=True, **data)
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已新增部门 {code}（{name}）")


@org_group.command("create-user")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="姓名")
@click.option("--department", required=True, help="部门代码")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(list(ROLES)),
              help="角色，可重复：例如 --role sysadmin")
@click.option("--email", default="", help="电子邮箱")
@click.password_option("--password", prompt="初始密码", confirmation_prompt="再次输入初始密码", help="省略时交互输入（不回显）")
def create_user_command(username: str, full_name: str, department: str, roles: tuple[str, ...], email: str,
                        password: str) -> None:
    """Add the official USERNAME (the password follows the policy; e.g. the first system administrator)."""
    try:
        admin.create_official(db.session, operator(), username, full_name, email, department, list(roles), password)
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"已新增用户 {username}")


@org_group.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo organisation (departments and officials) where missing."""
    added = load_demo_organisation(db.session)
    db.session.commit()
    click.echo(f"演示数据：新增 {added} 条；演示账号密码：{DEMO_PASSWORD}")
