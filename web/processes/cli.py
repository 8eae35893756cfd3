"""`flask --app web processes …`: process versions — `deploy-bundled` (the diagrams in processes/ whose checksum
changed), `deploy FILE.bpmn`, `export KEY VERSION DIR`, `list`.

Keeps the bundled diagrams in `processes/` and the deployed versions in the database reconcilable:
export a version to files (KEY.bpmn, forms/*.json, decisions/*.dmn), edit or commit them, deploy a file.
"""
from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from engine.deadlines.services import seed_time_limits
from engine.errors import EngineError
from engine.workflow import admin, specs
from web.cli import fail
from web.extensions import db

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"
processes_group = AppGroup("processes", help="流程版本：部署、导出、查看已部署的版本。")


def _fail(exc: EngineError) -> NoReturn:
    """`fail` with the scenarios a deployment ran and the confirmation code it asks for."""
    errors = exc.details.get("errors")
    errors = errors if isinstance(errors, dict) else {}
    notes = [f"  - 场景「{run['name']}」：{run['status_label']}"
             + (f"（{run['error'] or run['diverged']}）" if run["error"] or run["diverged"] else "")
             for run in errors.get("_scenarios", [])]
    if errors.get("_scenario_confirmation"):
        notes.append(f"确认后部署：--confirm-scenarios {errors['_scenario_confirmation']}")
    fail(exc, *notes)


@processes_group.command("export")
@click.argument("key")
@click.argument("version", type=int)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_process_command(key: str, version: int, directory: Path) -> None:
    """Write version VERSION of process KEY to DIRECTORY (KEY.bpmn, forms/, decisions/)."""
    try:
        bundle = admin.export_version(db.session, key, version)
    except EngineError as exc:
        _fail(exc)
    path = admin.write_bundle(bundle, key, directory)
    click.echo(f"已导出 {key} 第 {version} 版：{path}（表单 {len(bundle.forms)} 个，决策表 {len(bundle.dmn)} 个）")


@processes_group.command("deploy")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--comment", default="", help="版本说明")
@click.option("--by", "actor", default="cli", help="部署人（记录在版本上）")
@click.option("--confirm-scenarios", "confirmation", default=None,
              help="确认结果有变化的场景：填写上一次部署时给出的确认码")
def deploy_process_command(path: Path, comment: str, actor: str, confirmation: str | None) -> None:
    """Deploy one diagram file with the forms/, decisions/ and scenarios/ beside it as the next version, after
    running its scenarios (those ending differently need --confirm-scenarios)."""
    try:
        result = admin.deploy_file(db.session, path, actor, comment, confirmation)
        db.session.commit()
    except EngineError as exc:
        _fail(exc)
    model = result.model
    for run in result.scenarios:
        click.echo(f"场景「{run['name']}」：{run['status_label']}")
    if result.created:
        click.echo(f"已部署 {model.key} 第 {model.version} 版（{model.sha256[:12]}）")
    else:
        click.echo(f"与已部署的 {model.key} 第 {model.version} 版完全相同，未新增版本。")


@processes_group.command("list")
def list_processes_command() -> None:
    """Process versions with who deployed them and the open cases on each."""
    for process in admin.list_models(db.session):
        click.echo(f"{process['key']}  {process['name']}")
        for v in process["versions"]:
            click.echo(f"  v{v['version']}  {v['sha']}  {v['deployed_by']}  {v['deployed_at']:%Y-%m-%d %H:%M}"
                       f"  未办结 {v['open_cases']}  {v['comment']}")


@processes_group.command("deploy-bundled")
@click.option("--directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=PROCESSES_DIR)
def deploy_bundled_command(directory: Path) -> None:
    """Deploy the bundled diagrams whose checksum changed (and seed the time limits they name)."""
    try:
        seed_time_limits(db.session)  # the limits diagrams name must exist before they run
        new = specs.deploy_directory(db.session, directory, deployed_by="cli")
    except EngineError as exc:
        fail(exc)
    db.session.commit()
    for model in new:
        click.echo(f"已部署 {model.key} 第 {model.version} 版（{model.sha256[:12]}）")
    if not new:
        click.echo("流程均为最新，无需部署。")
