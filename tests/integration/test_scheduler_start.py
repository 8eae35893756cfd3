"""Only the process that serves HTTP starts the in-process scheduler: with LVYUE_SCHEDULER_ENABLED=true in the
environment, `flask run-scheduler` (which runs its own) and every other command start none."""
from __future__ import annotations

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from click.testing import CliRunner
from flask.cli import FlaskGroup


def test_cli_commands_never_start_the_in_process_scheduler(make_app, bundled_model_ids: set[int],  # noqa: ANN001
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVYUE_SCHEDULER_ENABLED", "true")  # as the issue had it: set for every process
    monkeypatch.setenv("LVYUE_SCHEDULER_INTERVAL_SECONDS", "3600")
    started: list[str] = []
    monkeypatch.setattr(BlockingScheduler, "start", lambda self, *a, **kw: started.append("run-scheduler"))
    background_start = BackgroundScheduler.start

    def start_in_background(self: BackgroundScheduler, *args: object, **kwargs: object) -> None:
        started.append("in-process")
        background_start(self, *args, **kwargs)

    monkeypatch.setattr(BackgroundScheduler, "start", start_in_background)
    apps = []

    def build():  # noqa: ANN202 - `flask --app web …`: the command line creates the app itself
        apps.append(make_app())
        return apps[-1]

    cli = FlaskGroup(create_app=build, load_dotenv=False, set_debug_flag=False)
    result = CliRunner().invoke(cli, ["run-scheduler"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert apps[-1].config["SCHEDULER_ENABLED"] is True
    assert started == ["run-scheduler"]  # its own scheduler, and no second one inside it
    result = CliRunner().invoke(cli, ["routes"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert started == ["run-scheduler"]
    assert all("lvyue_scheduler" not in app.extensions for app in apps)

    server = make_app()  # a web server: the first request it handles starts the scheduler, once
    assert started == ["run-scheduler"]
    client = server.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200
    try:
        assert started == ["run-scheduler", "in-process"]
        assert server.extensions["lvyue_scheduler"].running
    finally:
        server.extensions["lvyue_scheduler"].shutdown(wait=False)
