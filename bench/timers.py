"""Timer benchmarks: the cost of an idle scheduler tick with 100 k waiting cases, and clearing 10 k due timers.

Run: `.venv/bin/python bench/timers.py [--quick]`; figures go to bench/results/timers.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    machine_facts,
    make_engine,
    median_time,
    postgres_available,
    prepare_database,
    scratch_postgres,
    scratch_sqlite,
)
from engine.workflow import specs  # noqa: E402
from engine.workflow.instances import start_instance  # noqa: E402
from engine.workflow.jobs import tick  # noqa: E402
from engine.workflow.models import ProcessInstance  # noqa: E402

RACE = ROOT / "tests" / "integration" / "data" / "timer_race" / "timer_race.bpmn"
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)


def idle_tick(url: str, waiting: int) -> dict[str, Any]:
    """Median time of a tick that finds nothing due, with `waiting` instances whose timers are in the future."""
    engine = make_engine(url)
    prepare_database(engine)
    with Session(engine) as session:
        model = specs.deploy(session, specs.bundle_from_directory(RACE), comment="bench")
        session.commit()
        rows = [{"model_id": model.id, "status": "running", "state": "{}", "lock_version": 1,
                 "next_timer_at": T0 + timedelta(days=1, seconds=i), "started_at": T0, "updated_at": T0}
                for i in range(waiting)]
        for start in range(0, waiting, 10_000):
            session.execute(insert(ProcessInstance), rows[start:start + 10_000])
        session.commit()
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == waiting
        seconds = median_time(lambda: tick(session, now=T0), repeat=200)  # milliseconds
    engine.dispose()
    return {"waiting_instances": waiting, "idle_tick_median_ms": round(seconds, 4)}


def clear_due(url: str, due: int) -> dict[str, Any]:
    """Wall time for one scheduler to fire `due` timers that all fell due at once (one commit per instance)."""
    engine = make_engine(url)
    prepare_database(engine)
    with Session(engine) as session:
        specs.deploy(session, specs.bundle_from_directory(RACE), comment="bench")
        started = time.perf_counter()
        for i in range(due):
            start_instance(session, "timer_race", None, None,
                           data={"due": (T0 + timedelta(minutes=1)).isoformat(), "marker": f"t{i}"}, now=T0)
            if i % 500 == 499:
                session.commit()
        session.commit()
        setup_s = time.perf_counter() - started
        started = time.perf_counter()
        fired = 0
        while True:
            n = tick(session, now=T0 + timedelta(hours=1), batch=500)
            fired += n
            if not n:
                break
        elapsed = time.perf_counter() - started
    engine.dispose()
    assert fired == due, (fired, due)
    return {"due_timers": due, "clear_seconds": round(elapsed, 2), "timers_per_second": round(due / elapsed, 1),
            "setup_seconds": round(setup_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args()
    waiting, due = (10_000, 500) if args.quick else (100_000, 10_000)
    results: dict[str, Any] = {"machine": machine_facts(), "when": datetime.now(UTC).isoformat()}
    with scratch_sqlite("timers-idle") as url:
        results["sqlite_idle"] = idle_tick(url, waiting)
    with scratch_sqlite("timers-clear") as url:
        results["sqlite_clear"] = clear_due(url, due)
    if postgres_available() is None:  # None means the server answers
        with scratch_postgres("timers_idle") as url:
            results["postgres_idle"] = idle_tick(url, waiting)
        with scratch_postgres("timers_clear") as url:
            results["postgres_clear"] = clear_due(url, due)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    out = ROOT / "bench" / "results" / ("timers-quick.json" if args.quick else "timers.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
