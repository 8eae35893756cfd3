"""The command line, `flask --app web <group> <command>`: one group per area, defined beside the area it manages —
`org` (web/admin/cli.py), `accounts` (web/auth/cli.py), `audit` (web/audit/cli.py), `processes`
(web/processes/cli.py), `intake` (web/intake/cli.py), `exchange` (web/credit/cli.py) — plus `run-scheduler` here and
`backup`, `restore`, `check-consistency` in web/ops.py. The README's table lists every command.

The flat names the commands had before the groups (`deploy-processes`, `unlock`, `create-channel-key` …) still
work as hidden aliases that print a one-line notice with the new name on stderr.
"""
from __future__ import annotations

import getpass
from typing import Any, NoReturn

import click
from flask import Flask

from engine.errors import EngineError
from web.extensions import db

# old flat name → (group, command): kept working for operators' scripts, hidden from --help
ALIASES: dict[str, tuple[str, str]] = {
    "deploy-processes": ("processes", "deploy-bundled"),
    "deploy-process": ("processes", "deploy"),
    "export-process": ("processes", "export"),
    "list-processes": ("processes", "list"),
    "seed-demo": ("org", "seed-demo"),
    "create-department": ("org", "create-department"),
    "create-user": ("org", "create-user"),
    "create-token": ("accounts", "create-token"),
    "list-tokens": ("accounts", "list-tokens"),
    "revoke-token": ("accounts", "revoke-token"),
    "unlock": ("accounts", "unlock"),
    "set-password": ("accounts", "set-password"),
    "create-channel-key": ("intake", "create-key"),
    "revoke-channel-key": ("intake", "revoke-key"),
    "list-channel-keys": ("intake", "list-keys"),
}


def operator() -> str:
    """Who ran a command, as the audit log names it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def fail(exc: EngineError, *notes: str, code: int = 2) -> NoReturn:
    """Roll back, print the error's message, its problems and field errors, then `notes`, on stderr; exit `code`."""
    db.session.rollback()
    click.echo(exc.message, err=True)
    for problem in exc.details.get("problems") or []:
        click.echo(f"  - [{problem['element']}] {problem['message']}", err=True)
    errors = exc.details.get("errors")
    for field, message in (errors.items() if isinstance(errors, dict) else ()):
        if isinstance(message, str) and not field.startswith("_"):
            click.echo(f"  {field}: {message}", err=True)
    for note in notes:
        click.echo(note, err=True)
    raise SystemExit(code)


def deprecated_alias(old: str, group: str, command: click.Command) -> click.Command:
    """`old` runs `command` (of `group`) after a one-line notice on stderr; hidden from the command list."""
    new = f"{group} {command.name}"

    def run(**values: Any) -> Any:
        click.echo(f"提示：「flask {old}」已改为「flask {new}」，旧名称今后将停用。", err=True)
        return click.get_current_context().invoke(command, **values)

    return click.Command(old, callback=run, params=command.params, help=f"已改为「{new}」。", hidden=True)


@click.command("run-scheduler")
def run_scheduler_command() -> None:
    """Run the scheduler's jobs (timers, mail, platforms, audit seal) as its own process (production)."""
    from web.scheduler import run_forever

    run_forever()


def init_app(app: Flask) -> None:
    from web.admin.cli import org_group
    from web.audit.cli import audit_group
    from web.auth.cli import accounts_group
    from web.credit.cli import exchange_group
    from web.intake.cli import intake_group
    from web.processes.cli import processes_group

    groups = {g.name: g for g in (org_group, accounts_group, audit_group, processes_group, intake_group,
                                  exchange_group)}
    for group in groups.values():
        app.cli.add_command(group)
    app.cli.add_command(run_scheduler_command)
    for old, (group, name) in ALIASES.items():
        app.cli.add_command(deprecated_alias(old, group, groups[group].commands[name]))
