"""APScheduler wiring, in-process (`make run`) or as its own process: one job per concern.

`timer-tick` fires due timers (timer start events, bulletins waiting for their snapshot, then the instances'
timers); `audit-seal` seals the audit chains that grew into the global chain (every AUDIT_SEAL_SECONDS,
engine/audit/chains.py); `mail` sends the e-mail outbox (when enabled); `sms` the text messages to complainants (when a sender is
configured); `platform-<target>` delivers breach records to each
configured credit platform. The jobs run in the scheduler's thread pool, each at most once at a time: a slow or
failing platform never holds up the timers, the mail or the other platform, and an error in one job is logged and
rolled back without touching the others.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from engine.audit.chains import seal
from engine.notify.mail import SmtpSettings, deliver
from engine.notify.sms import SmsSender, sender_from_settings
from engine.notify.sms import deliver as deliver_sms
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


def _isolated(app: Flask, name: str, work: Callable[[Any], object]) -> None:
    """Run `work(session)` in an app context with a request id of its own; an error is logged and rolled back."""
    from web.extensions import db
    from web.logs import request_id_context

    with app.app_context(), request_id_context(f"{name}-{uuid.uuid4().hex[:12]}"):
        try:
            work(db.session)
        except Exception:
            logger.exception("scheduler job %s failed; the other jobs go on", name)
            db.session.rollback()


def _seal_job(app: Flask) -> None:
    def work(session: Any) -> None:
        made = seal(session)
        session.commit()
        if made is not None:
            logger.info("audit-seal job sealed %s chain(s) as seal #%s", made.chains, made.id)

    _isolated(app, "audit-seal", work)


def _mail_job(app: Flask) -> None:
    def send(session: Any) -> None:
        sent = deliver(session, smtp_settings(app.config))
        if sent:
            logger.info("mail job sent %s email(s)", sent)

    _isolated(app, "mail", send)


def sms_sender(config: Any) -> SmsSender | None:
    """The configured text message sender (SMS_SENDER), or None: messages then wait in the outbox."""
    return sender_from_settings(config.get("SMS_SENDER"), config.get("SMS_FILE"), config.get("SMS_HTTP_URL"),
                                config.get("SMS_HTTP_TOKEN"))


def _sms_job(app: Flask) -> None:
    def send(session: Any) -> None:
        sender = sms_sender(app.config)
        texted = deliver_sms(session, sender) if sender is not None else 0
        if texted:
            logger.info("sms job sent %s text message(s)", texted)

    _isolated(app, "sms", send)


def platform_configured(config: Any, target: str) -> bool:
    url_key, dir_key = PLATFORM_SETTINGS[target]
    return bool(config.get(url_key) or config.get(dir_key))


def deliver_platform(session: Any, config: Any, target: str) -> int:
    """Deliver due breach record versions to `target` as configured (endpoint, else exchange directory)."""
    from engine.credit.exchange import deliver as deliver_records

    url_key, dir_key = PLATFORM_SETTINGS[target]
    return deliver_records(session, config.get(url_key), drop_dir=config.get(dir_key), target=target,
                           timeout=float(config.get("PLATFORM_DEADLINE_SECONDS") or 20))


def _delivery_job(app: Flask, target: str) -> None:
    def work(session: Any) -> None:
        delivered = deliver_platform(session, app.config, target)
        if delivered:
            logger.info("delivered %s breach record version(s) to the %s platform", delivered, target)

    _isolated(app, f"platform-{target}", work)


def add_jobs(scheduler: BaseScheduler, app: Flask) -> list[str]:
    """Register the jobs this configuration needs; returns their ids."""
    seconds = app.config["SCHEDULER_INTERVAL_SECONDS"]
    jobs: list[tuple[str, Callable[..., None], list[Any]]] = [("timer-tick", _tick_job, [app])]
    scheduler.add_job(_seal_job, "interval", seconds=app.config["AUDIT_SEAL_SECONDS"], args=[app], max_instances=1,
                      coalesce=True, id="audit-seal")
    if app.config.get("MAIL_ENABLED"):
        jobs.append(("mail", _mail_job, [app]))
    if sms_sender(app.config) is not None:
        jobs.append(("sms", _sms_job, [app]))
    jobs += [(f"platform-{target}", _delivery_job, [app, target]) for target in PLATFORM_SETTINGS
             if platform_configured(app.config, target)]
    for job_id, function, args in jobs:
        scheduler.add_job(function, "interval", seconds=seconds, args=args, max_instances=1, coalesce=True,
                          id=job_id)
    return ["audit-seal", *(job_id for job_id, _f, _a in jobs)]


def smtp_settings(config: dict) -> SmtpSettings:
    return SmtpSettings(host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]), username=config["SMTP_USERNAME"],
                        password=config["SMTP_PASSWORD"], starttls=bool(config["SMTP_STARTTLS"]),
                        sender=config["SMTP_SENDER"])


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
    jobs = add_jobs(scheduler, app)
    logger.info("scheduler running every %ss: %s", app.config["SCHEDULER_INTERVAL_SECONDS"], ", ".join(jobs))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        time.sleep(0)
