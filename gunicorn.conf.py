"""gunicorn settings for Lvyue's web workers: `gunicorn -c gunicorn.conf.py` (docs/operations.md).

Environment: LVYUE_BIND (default 127.0.0.1:8000), LVYUE_WORKERS (default 2 × cores + 1, at most 8),
LVYUE_TIMEOUT (seconds, default 60), PROMETHEUS_MULTIPROC_DIR (made fresh when unset), LVYUE_LOG_FORMAT.
The timer scheduler is NOT started here: run `flask --app web run-scheduler` as its own service.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

wsgi_app = "web:create_app()"
bind = os.environ.get("LVYUE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LVYUE_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8)))
worker_class = "sync"  # each step is a short transaction; PostgreSQL scales with processes
timeout = int(os.environ.get("LVYUE_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then (memory), staggered
max_requests_jitter = 500
preload_app = False  # each worker builds its own app and database pool after the fork
accesslog = None  # the app writes one `lvyue.request` line per request, with its request id
errorlog = "-"
proc_name = "lvyue-web"

# Prometheus counters from every worker, added up at scrape time (web/metrics.py). prometheus_client reads
# the variable when it is first imported, which happens in the workers, after this file ran in the master.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lvyue-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

if os.environ.get("LVYUE_LOG_FORMAT", "").strip('"').lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "web.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": []},  # the app adds its own handler (web/logs.py)
        "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
                    "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False}},
    }


def on_starting(server: object) -> None:
    """Start from an empty metrics directory: values of an earlier run would be added to this one's."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def post_worker_init(worker: object) -> None:
    """Once the worker has built its app: collect, then freeze what survives (modules, mappers, schemas, parsed specs
    — about 200 000 objects that live as long as the worker) out of the cyclic garbage collector's reach. Without
    this every full collection walks them again: 80–110 ms each, every few dozen requests (bench/README.md)."""
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    """Tell prometheus_client a worker is gone (its counter files stay and keep counting in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
