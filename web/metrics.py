"""Prometheus metrics at `/metrics`: requests and task completions counted in-process, backlogs read at scrape.

Counters and histograms live in this module's registry; under gunicorn, set `PROMETHEUS_MULTIPROC_DIR`
before the workers start (`gunicorn.conf.py` does) and every worker writes its values to files there, which
a scrape of any worker adds up. Gauges that describe the database (timer lag, outbox backlogs, overdue
tasks, instances by status) are computed by a query at scrape time, so they are the same whichever worker
answers and need no shared state. Access: addresses in `METRICS_ALLOWED_IPS` (loopback by default) or
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 404.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from datetime import datetime

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session

from engine.credit.models import PlatformDelivery
from engine.db import as_utc
from engine.notify.models import EmailOutbox
from engine.org.permissions import PUBLIC
from engine.workflow import clock
from engine.workflow.instances import take_completions
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel
from web.extensions import db
from web.permissions import protect

bp = Blueprint("metrics", __name__)
protect(bp, PUBLIC)  # its own guard: loopback or METRICS_TOKEN
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("lvyue_http_requests", "HTTP requests answered, by endpoint, method and status.",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("lvyue_http_request_duration_seconds", "Time to answer a request, by endpoint and method.",
                    ["endpoint", "method"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TASK_COMPLETIONS = Counter("lvyue_task_completions", "User tasks completed (committed), by process and task.",
                           ["process", "task"], registry=REGISTRY)
UNCOUNTED = frozenset({"metrics.metrics"})  # scrapes are not traffic


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition: this process's (or all workers') counters plus database gauges."""
    if not _allowed():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector(db.session))
    return Response(body + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (a handful of aggregate queries)."""

    def __init__(self, session: Session, now: datetime | None = None) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        session, now = self.session, self.now or clock.now()
        oldest_due = session.scalar(select(func.min(ProcessInstance.next_timer_at)).where(
            ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now))
        due_count = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now)) or 0
        yield GaugeMetricFamily(
            "lvyue_timer_lag_seconds",
            "Now minus the oldest due timer of a running instance (0 when none is due): the scheduler's delay.",
            value=max(0.0, (now - as_utc(oldest_due)).total_seconds()) if oldest_due is not None else 0.0)
        yield GaugeMetricFamily("lvyue_timers_due", "Running instances whose earliest timer is due now.",
                                value=due_count)
        email = session.scalar(select(func.count()).select_from(EmailOutbox).where(EmailOutbox.sent_at.is_(None)))
        yield GaugeMetricFamily("lvyue_email_outbox_backlog", "E-mails not yet sent.", value=email or 0)
        platform = GaugeMetricFamily("lvyue_platform_outbox_backlog",
                                     "Breach record versions not yet delivered to the credit platform, by target.",
                                     labels=["target"])
        for target, count in session.execute(
                select(PlatformDelivery.target, func.count()).where(PlatformDelivery.delivered_at.is_(None))
                .group_by(PlatformDelivery.target)):
            platform.add_metric([target], count)
        yield platform
        open_tasks = GaugeMetricFamily("lvyue_tasks_open", "Open user tasks, by process.", labels=["process"])
        overdue = GaugeMetricFamily("lvyue_tasks_overdue", "Open user tasks past their due time, by process.",
                                    labels=["process"])
        late = func.sum(case((HumanTask.due_at < now, 1), else_=0))
        for key, count, past_due in session.execute(
                select(ProcessModel.key, func.count(), late)
                .join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
                .join(ProcessModel, ProcessInstance.model_id == ProcessModel.id)
                .where(HumanTask.completed_at.is_(None)).group_by(ProcessModel.key)):
            open_tasks.add_metric([key], count)
            overdue.add_metric([key], int(past_due or 0))
        yield open_tasks
        yield overdue
        instances = GaugeMetricFamily("lvyue_instances", "Process instances by status.", labels=["status"])
        for status, count in session.execute(
                select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)):
            instances.add_metric([status], count)
        yield instances  # the scrape's transaction ends with the request (web/transaction.py)


def init_app(app: Flask) -> None:
    app.config.setdefault("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
    app.config.setdefault("METRICS_TOKEN", None)
    app.register_blueprint(bp)
    app.after_request(_count_request)
    _count_task_completions(db.session)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(
            header.removeprefix("Bearer ").strip().encode(), str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for allowed in current_app.config.get("METRICS_ALLOWED_IPS") or []:
        try:
            if address in ipaddress.ip_network(str(allowed), strict=False):
                return True
        except ValueError:
            continue
    return False


def _count_request(response: Response) -> Response:
    started = g.get("request_started")  # set by web/logs.py with the request id
    endpoint = request.endpoint or "unmatched"  # the route's name, never the raw path: bounded labels
    if started is not None and endpoint not in UNCOUNTED:
        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


_LISTENING: set[int] = set()


def _count_task_completions(scoped_session: object) -> None:
    """Count a completed task when the transaction that completed it commits, whichever view did it."""
    if id(scoped_session) in _LISTENING:
        return
    _LISTENING.add(id(scoped_session))

    @event.listens_for(scoped_session, "after_commit")
    def _count(session: Session) -> None:
        for process, task in take_completions(session):
            TASK_COMPLETIONS.labels(process, task).inc()

    @event.listens_for(scoped_session, "after_rollback")
    def _forget(session: Session) -> None:
        take_completions(session)
