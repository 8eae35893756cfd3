"""APScheduler wiring: a tick that fires due timers, in-process (`make run`) or as its own process."""
from __future__ import annotations

import logging
import time
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from engine.notify.mail import SmtpSettings, deliver
from engine.oversight.bulletins import generate_pending
from engine.workflow.start_timers import start_due_processes
from engine.workflow.timers import tick

logger = logging.getLogger(__name__)
# credit platform destinations: (endpoint URL setting, exchange directory setting); unset → not delivered
PLATFORM_SETTINGS = {
    "provincial": ("PLATFORM_ENDPOINT", "PLATFORM_DROP_DIR"),
    "national": ("NATIONAL_PLATFORM_ENDPOINT", "NATIONAL_PLATFORM_DROP_DIR"),
}


def _tick_job(app: Flask) -> None:
    from web.extensions import db
    from web.logs import request_id_context

    with app.app_context(), request_id_context(f"tick-{uuid.uuid4().hex[:12]}"):
        started = start_due_processes(db.session)  # timer start events of deployed processes (bulletins)
        if started:
            logger.info("scheduler tick started %s instance(s) by timer start events", started)
        generated = generate_pending(db.session)  # bulletins waiting for their snapshot
        if generated:
            logger.info("scheduler tick generated %s bulletin(s)", generated)
        fired = tick(db.session)
        if fired:
            logger.info("scheduler tick fired %s instance(s)", fired)
        if app.config.get("MAIL_ENABLED"):
            sent = deliver(db.session, smtp_settings(app.config))
            if sent:
                logger.info("scheduler tick sent %s email(s)", sent)
        for target, (url_key, dir_key) in PLATFORM_SETTINGS.items():
            if app.config.get(url_key) or app.config.get(dir_key):
                from engine.credit.exchange import deliver as deliver_records

                delivered = deliver_records(db.session, app.config.get(url_key), drop_dir=app.config.get(dir_key),
                                            target=target)
                if delivered:
                    logger.info("scheduler tick delivered %s breach record version(s) to the %s platform",
                                delivered, target)


def smtp_settings(config: dict) -> SmtpSettings:
    return SmtpSettings(host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]), username=config["SMTP_USERNAME"],
                        password=config["SMTP_PASSWORD"], starttls=bool(config["SMTP_STARTTLS"]),
                        sender=config["SMTP_SENDER"])


def start_in_process(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(_tick_job, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=[app],
                      max_instances=1, coalesce=True, id="timer-tick")
    scheduler.start()
    app.extensions["lvyue_scheduler"] = scheduler
    return scheduler


def run_forever() -> None:
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(_tick_job, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=[app],
                      max_instances=1, coalesce=True, id="timer-tick")
    logger.info("scheduler running every %ss", app.config["SCHEDULER_INTERVAL_SECONDS"])
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        time.sleep(0)
