"""CLI for process versions: `export-process KEY VERSION DIR`, `deploy-process FILE.bpmn`, `list-processes`.

Keeps the bundled diagrams in `processes/` and the deployed versions in the database reconcilable:
export a version to files (KEY.bpmn, forms/*.json, decisions/*.dmn), edit or commit them, deploy a file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from engine.errors import EngineError
from engine.workflow import admin
from web.extensions import db


def _fail(exc: EngineError) -> None:
    db.session.rollback()
    click.echo(exc.message, err=True)
    for problem in exc.details.get("problems", []):
        click.echo(f"  - [{problem['element']}] {problem['message']}", err=True)
    errors = exc.details.get("errors") or {}
    for run in errors.get("_scenarios", []) if isinstance(errors, dict) else []:
        click.echo(f"  - 场景「{run['name']}」：{run['status_label']}"
                   + (f"（{run['error'] or run['diverged']}）" if run["error"] or run["diverged"] else ""), err=True)
    if isinstance(errors, dict) and errors.get("_scenario_confirmation"):
        click.echo(f"确认后部署：--confirm-scenarios {errors['_scenario_confirmation']}", err=True)
    sys.exit(2)


@click.command("export-process")
@click.argument("key")
@click.argument("version", type=int)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_process_command(key: str, version: int, directory: Path) -> None:
    """Write version VERSION of process KEY to DIRECTORY (KEY.bpmn, forms/, decisions/)."""
    try:
        bundle = admin.export_version(db.session, key, version)
    except EngineError as exc:
        _fail(exc)
        return
    path = admin.write_bundle(bundle, key, directory)
    click.echo(f"已导出 {key} 第 {version} 版：{path}（表单 {len(bundle.forms)} 个，决策表 {len(bundle.dmn)} 个）")


@click.command("deploy-process")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--comment", default="", help="版本说明")
@click.option("--by", "actor", default="cli", help="部署人（记录在版本上）")
@click.option("--confirm-scenarios", "confirmation", default=None,
              help="确认结果有变化的场景：填写上一次部署时给出的确认码")
@with_appcontext
def deploy_process_command(path: Path, comment: str, actor: str, confirmation: str | None) -> None:
    """Deploy one diagram file with the forms/, decisions/ and scenarios/ beside it as the next version, after
    running its scenarios (those ending differently need --confirm-scenarios)."""
    try:
        result = admin.deploy_file(db.session, path, actor, comment, confirmation)
        db.session.commit()
    except EngineError as exc:
        _fail(exc)
        return
    model = result.model
    for run in result.scenarios:
        click.echo(f"场景「{run['name']}」：{run['status_label']}")
    if result.created:
        click.echo(f"已部署 {model.key} 第 {model.version} 版（{model.sha256[:12]}）")
    else:
        click.echo(f"与已部署的 {model.key} 第 {model.version} 版完全相同，未新增版本。")


@click.command("list-processes")
@with_appcontext
def list_processes_command() -> None:
    """Process versions with who deployed them and the open cases on each."""
    for process in admin.list_models(db.session):
        click.echo(f"{process['key']}  {process['name']}")
        for v in process["versions"]:
            click.echo(f"  v{v['version']}  {v['sha']}  {v['deployed_by']}  {v['deployed_at']:%Y-%m-%d %H:%M}"
                       f"  未办结 {v['open_cases']}  {v['comment']}")


def init_app(app: Flask) -> None:
    for command in (export_process_command, deploy_process_command, list_processes_command):
        app.cli.add_command(command)
