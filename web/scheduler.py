"""APScheduler wiring, in-process (`make run`) or as its own process: one scheduler entry per registered job.

The jobs and what they do are the engine's (`engine/jobs.py`, registered by each area's `jobs.py`): `timer-tick`
(timer start events, bulletins waiting for their snapshot, the instances' timers — three steps run in order, each
isolated), `audit-seal` (every AUDIT_SEAL_SECONDS), `mail` (when enabled), `sms` (when a sender is configured),
`platform-<target>` per configured credit platform. Here each enabled job becomes an interval entry running in the
scheduler's thread pool, at most once at a time, with a request id of its own for the log: a slow or failing
platform never holds up the timers, the mail or the other platform, and a failing step is logged and rolled back
without touching the others.
"""
from __future__ import annotations

import logging
import time
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from engine import jobs

logger = logging.getLogger(__name__)
REQUEST_ID_PREFIX = {"timer-tick": "tick"}  # the tick's log lines have always been `tick-…` (docs/operations.md)


def run_job(app: Flask, name: str) -> list[str]:
    """Run the registered job `name` in an app context with a request id of its own; returns the failed steps."""
    from web.extensions import db
    from web.logs import request_id_context

    with app.app_context(), request_id_context(f"{REQUEST_ID_PREFIX.get(name, name)}-{uuid.uuid4().hex[:12]}"):
        return jobs.run(db.session, name, app.config)


def add_jobs(scheduler: BaseScheduler, app: Flask) -> list[str]:
    """Add the jobs this configuration runs, each every `app.config[<its interval setting>]` seconds; returns
    their names."""
    enabled = jobs.enabled(app.config)
    for name, every in enabled.items():
        scheduler.add_job(run_job, "interval", seconds=app.config[every], args=[app, name], max_instances=1,
                          coalesce=True, id=name)
    return list(enabled)


def start_in_process(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, app)
    scheduler.start()
    app.extensions["lvyue_scheduler"] = scheduler
    return scheduler


def run_forever() -> None:
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = BlockingScheduler(timezone="UTC")
    names = add_jobs(scheduler, app)
    logger.info("scheduler running every %ss: %s", app.config["SCHEDULER_INTERVAL_SECONDS"], ", ".join(names))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        time.sleep(0)
