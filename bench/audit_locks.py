"""Does a step hold a lock that other cases' steps wait for? Two steps on two cases, the first kept open.

    .venv/bin/python bench/audit_locks.py                 # 30 trials on a scratch PostgreSQL database
    .venv/bin/python bench/audit_locks.py --trials 10 --hold 300 --out /tmp/locks.json

For each trial, a thread completes the verify task of case A at 昆明市商务局 (complete_task: the step, its rows, its
公文, its audit event — all flushed) and keeps its transaction open, as a slow request would, until the main
thread has completed the verify task of case B at 曲靖市商务局 and committed (or `--hold` ms passed). If anything the first step took were global (the audit log's
advisory lock held to commit was), B could only finish after A's commit — counted as "waited" — and its time
would include the hold; it is compared with the same step when nothing else is open ("alone"). The locks A's backend holds while
open are read from `pg_locks` (advisory locks: global by nature; tuple/transactionid: rows of its own case).
Only PostgreSQL: SQLite has one writer at a time whatever the application does. Results: bench/results/audit_locks.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.common import (  # noqa: E402
    COMPLAINT,
    STEPS,
    check,
    machine_facts,
    make_engine,
    prepare_database,
    scratch_postgres,
)

VERIFY = dict(STEPS[1][1])
# two supervising departments: each step below is a verification by one of them, so the steps share no 公文
# counter (numbers are per issuing department and year, a lock of their own) — only what is global would join them
RESPONDENTS = {"km-commerce": "km-guandu-commerce", "qj-commerce": "qj-qilin-commerce"}


def _complete(engine: Engine, task_id: str, official_id: int, lock_timeout_ms: int) -> Session:
    """Complete a verify task in a new session and return it with its transaction still open."""
    from engine.org.models import Official
    from engine.workflow import instances

    session = Session(engine)
    session.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout_ms}ms'"))
    instances.complete_task(session, task_id, dict(VERIFY), session.get(Official, official_id))
    return session


def _open_tasks(engine: Engine, count: int) -> dict[str, tuple[list[str], int]]:
    """Per supervising department: `count` cases screened and waiting at verify there, and that official's id."""
    from engine.cases.services import register_complaint
    from engine.org.models import Official
    from engine.workflow import instances
    from engine.workflow.models import HumanTask

    found = {}
    with Session(engine) as session:
        intake = session.scalar(select(Official).where(Official.username == "intake"))
        for username, respondent in RESPONDENTS.items():
            tasks = []
            for n in range(count):
                complaint, _ = register_complaint(session, {**COMPLAINT, "respondent_code": respondent,
                                                            "agreement_number": f"LOCKS-{username}-{n:04d}"}, intake)
                screening = session.scalar(select(HumanTask.id).where(HumanTask.subject_id == complaint.id))
                instances.complete_task(session, screening, dict(STEPS[0][1]), intake)
                session.commit()
                tasks.append(session.scalar(select(HumanTask.id).where(HumanTask.subject_id == complaint.id,
                                                                       HumanTask.completed_at.is_(None))))
            found[username] = (tasks, session.scalar(select(Official.id).where(Official.username == username)))
        return found


def run(trials: int, hold_ms: int) -> dict[str, Any]:
    from engine.builtin import load_builtin

    load_builtin()
    with scratch_postgres("locks") as url:
        engine = make_engine(url)
        try:
            prepare_database(engine)
            open_tasks = _open_tasks(engine, 2 * trials + 2)
            (km_tasks, km_id), (qj_tasks, qj_id) = open_tasks["km-commerce"], open_tasks["qj-commerce"]
            for task, who in ((km_tasks[0], km_id), (qj_tasks[0], qj_id)):  # warm up: caches, pools
                _complete(engine, task, who, 10_000).commit()
            alone, beside, held_locks, waited = [], [], Counter(), 0
            errors: list[str] = []
            for trial in range(trials):
                a, b, c = km_tasks[1 + trial], qj_tasks[1 + 2 * trial], qj_tasks[2 + 2 * trial]
                start = time.perf_counter()
                session = _complete(engine, c, qj_id, 10_000)
                session.commit()
                session.close()
                alone.append(time.perf_counter() - start)

                ready, done = threading.Event(), threading.Event()
                committed: list[float] = []

                def slow_step(task: str = a, ready: threading.Event = ready, done: threading.Event = done,
                              committed: list[float] = committed) -> None:
                    first = _complete(engine, task, km_id, 10_000)
                    rows = first.execute(text("SELECT locktype, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                                              "AND granted")).all()
                    held_locks.update(f"{kind} {mode}" for kind, mode in rows)
                    ready.set()
                    done.wait(hold_ms / 1000)  # until the second step is done, or the hold ends
                    committed.append(time.perf_counter())
                    first.commit()
                    first.close()

                thread = threading.Thread(target=slow_step)
                thread.start()
                check(ready.wait(30), "the first step did not finish")
                start = time.perf_counter()
                try:
                    second = _complete(engine, b, qj_id, hold_ms * 3)
                    second.commit()
                    second.close()
                except Exception as exc:  # a lock timeout: the second step waited for the first
                    errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                finished = time.perf_counter()
                beside.append(finished - start)
                done.set()
                thread.join()
                waited += finished > committed[0]  # the second step ended only after the first committed
            with Session(engine) as session:
                advisory_anywhere = session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        finally:
            engine.dispose()
    ms = [x * 1000 for x in alone]
    ms_beside = [x * 1000 for x in beside]
    per_trial = {k: round(v / trials, 2) for k, v in sorted(held_locks.items())}
    return {
        "machine": machine_facts(), "trials": trials, "hold_ms": hold_ms,
        "step_alone_median_ms": round(statistics.median(ms), 2),
        "step_beside_open_step_median_ms": round(statistics.median(ms_beside), 2),
        "step_beside_open_step_max_ms": round(max(ms_beside), 2),
        "beside_over_alone": round(statistics.median(ms_beside) / statistics.median(ms), 2),
        "second_steps_that_waited_for_the_first": waited,
        "errors": errors[:5],
        "locks_held_by_an_open_step_per_trial": per_trial,
        "advisory_locks_held_by_an_open_step": per_trial.get("advisory ExclusiveLock", 0.0),
        "advisory_locks_left_after": advisory_anywhere,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--hold", type=int, default=2000,
                        help="ms the first step keeps its transaction open at most (it commits once the second is done)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit_locks.json")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    result = run(args.trials, args.hold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
