"""CLI commands (`flask --app web <command>`), next to what they manage."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from engine.deadlines.services import seed_time_limits
from engine.errors import EngineError
from engine.org.demo import DEMO_PASSWORD, load_demo_organisation
from engine.org.models import Official
from engine.org.services import create_token
from engine.workflow import specs
from web.extensions import db

PROCESSES_DIR = Path(__file__).resolve().parent.parent / "processes"


@click.command("deploy-processes")
@click.option("--directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=PROCESSES_DIR)
def deploy_processes(directory: Path) -> None:
    """Deploy the bundled diagrams whose checksum changed."""
    try:
        seed_time_limits(db.session)  # the limits diagrams name must exist before they run
        new = specs.deploy_directory(db.session, directory, deployed_by="cli")
        db.session.commit()
    except EngineError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        for problem in exc.details.get("problems", []):
            click.echo(f"  - [{problem['element']}] {problem['message']}", err=True)
        sys.exit(2)
    for model in new:
        click.echo(f"已部署 {model.key} 第 {model.version} 版（{model.sha256[:12]}）")
    if not new:
        click.echo("流程均为最新，无需部署。")


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo organisation (departments and officials) where missing."""
    added = load_demo_organisation(db.session)
    db.session.commit()
    click.echo(f"演示数据：新增 {added} 条；演示账号密码：{DEMO_PASSWORD}")


@click.command("create-token")
@click.argument("username")
@click.option("--label", default="cli")
def create_token_command(username: str, label: str) -> None:
    """Create an API bearer token for USERNAME and print it once."""
    official = db.session.scalar(select(Official).where(Official.username == username))
    if official is None:
        click.echo(f"没有用户 {username}", err=True)
        sys.exit(2)
    token = create_token(db.session, official, label)
    db.session.commit()
    click.echo(token)


@click.command("run-scheduler")
def run_scheduler_command() -> None:
    """Run the timer scheduler as its own process (production)."""
    from web.scheduler import run_forever

    run_forever()


def init_app(app: Flask) -> None:
    for command in (deploy_processes, seed_demo, create_token_command, run_scheduler_command):
        app.cli.add_command(command)
    __import__("web.audit_cli").audit_cli.init_app(app)  # audit verify/prune, unlock, passwords, tokens
    __import__("web.intake_cli").intake_cli.init_app(app)  # channel API keys: create, revoke, list
    __import__("web.process_cli").process_cli.init_app(app)  # export-process, deploy-process, list-processes
    __import__("web.org_cli").org_cli.init_app(app)  # create-department, create-user (a new installation)
    __import__("web.exchange_cli").exchange_cli.init_app(app)  # exchange deliver, profile, load-profile
