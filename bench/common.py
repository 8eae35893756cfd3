"""Shared benchmark helpers: machine facts, scratch databases, the procedure's steps, timing statistics."""
from __future__ import annotations

import importlib
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# The path the API smoke test walks: accepted → founded → rectification refused → breach confirmed → reported.
# (task, form data, username of the official who completes it)
STEPS: list[tuple[str, dict[str, Any], str]] = [
    ("screening", {"accepted": True}, "intake"),
    ("verify", {"outcome": "founded", "explanation": "属实"}, "km-commerce"),
    ("order_rectification", {"deadline": "2027-01-15", "requirements": "按协议兑现扶持资金"}, "km-commerce"),
    ("report_rectification", {"completed": False, "measures": "资金未落实"}, "guandu-commerce"),
    ("review_rectification", {"rectified": False}, "km-commerce"),
    ("confirm_breach_task", {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"},
     "km-commerce"),
    ("ndrc_review", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"}, "ndrc"),
]

COMPLAINT: dict[str, Any] = {
    "complainant_name": "云南滇信科技有限公司",
    "complainant_uscc": "91440101MA5CJQ4N59",
    "contact_person": "李明",
    "contact_phone": "13888001234",
    "respondent_code": "km-guandu-commerce",
    "agreement_name": "官渡区招商引资项目投资协议",
    "agreement_number": "GD-ZS-2024-017",
    "domain": "investment_promotion",
    "breach_type": "policy_unfulfilled",
    "facts": "协议约定的产业扶持资金 300 万元至今未兑现。",
    "claims": "请求按协议兑现扶持资金。",
}


@dataclass(frozen=True)
class Stats:
    """Summary of many timings of one operation, in milliseconds."""

    n: int
    mean_ms: float
    median_ms: float
    p90_ms: float
    min_ms: float

    @property
    def per_second(self) -> float:
        return 1000.0 / self.mean_ms if self.mean_ms else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "mean_ms": round(self.mean_ms, 4), "median_ms": round(self.median_ms, 4),
                "p90_ms": round(self.p90_ms, 4), "min_ms": round(self.min_ms, 4),
                "per_second": round(self.per_second, 1)}


def check(condition: object, detail: object) -> None:
    """Stop the benchmark when the procedure did not go as expected (asserts vanish under -O)."""
    if not condition:
        raise RuntimeError(f"benchmark precondition failed: {detail!r}")


def stats(seconds: list[float]) -> Stats:
    ms = sorted(s * 1000 for s in seconds)
    return Stats(len(ms), statistics.fmean(ms), statistics.median(ms), ms[int(0.9 * (len(ms) - 1))], ms[0])


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `fn` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def machine_facts() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "SpiffWorkflow": version("SpiffWorkflow"),
        "SQLAlchemy": version("SQLAlchemy"),
        "Flask": version("Flask"),
        "psycopg": version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
    }


def pg_url() -> str:
    return os.environ.get("BENCH_PG_URL", DEFAULT_PG)


@contextmanager
def scratch_sqlite(label: str) -> Iterator[str]:
    """URL of a new SQLite file database, deleted afterwards."""
    folder = tempfile.mkdtemp(prefix=f"lvyue_bench_{label}_")
    try:
        yield f"sqlite:///{folder}/bench.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_postgres(label: str, server: str | None = None) -> Iterator[str]:
    """URL of a new PostgreSQL database on the bench server (or `server`), dropped afterwards."""
    admin_url = make_url(server or pg_url())
    if admin_url.drivername in ("postgresql", "postgres"):
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    name = f"lvyue_bench_{label}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> str | None:
    """None when the bench PostgreSQL server answers, else why not."""
    try:
        engine = create_engine(pg_url())
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip the PostgreSQL figures
        return str(exc).splitlines()[0]
    return None


def make_engine(url: str) -> Engine:
    """An engine configured as the application configures its own (WAL etc. on SQLite)."""
    from engine.db import tune_sqlite

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
    else:
        engine = create_engine(url, pool_pre_ping=True)
    tune_sqlite(engine)
    return engine


def import_all_models() -> None:
    """Import every engine/*/models.py so that the metadata knows all tables."""
    for path in sorted((ROOT / "engine").glob("*/models.py")):
        importlib.import_module(f"engine.{path.parent.name}.models")


def prepare_database(engine: Engine) -> None:
    """Schema, time limits, demo organisation and the complaint process — as tests/conftest.py does.

    Only complaint.bpmn is deployed: other diagrams in processes/ may be work in progress.
    """
    from engine.builtin import load_builtin
    from engine.db import Base
    from engine.org.demo import load_demo_organisation
    from engine.workflow import specs

    load_builtin()  # deploy checks lanes and operations against the registries
    import_all_models()
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        try:
            from engine.deadlines.services import seed_time_limits
        except ImportError:  # older trees had no time limits
            pass
        else:
            seed_time_limits(session)
        load_demo_organisation(session)
        specs.deploy(session, specs.bundle_from_directory(PROCESSES / "complaint.bpmn"), "bench")
        session.commit()


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return str(conn.execute(text("SHOW server_version")).scalar())
        return "sqlite " + str(conn.execute(text("select sqlite_version()")).scalar())
