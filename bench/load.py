"""Load test: 50 officials work their inboxes at once against gunicorn + PostgreSQL on 127.0.0.1, for 60 s.

    .venv/bin/python bench/load.py                      # 50 officials, 60 s, 4 workers, 300 cases
    .venv/bin/python bench/load.py --officials 20 --duration 20 --complaints 100      # a quick run
    .venv/bin/python bench/load.py --compare 1,2,2,1 --officials 12 --think 0 --duration 30 --complaints 900
                                                        # scaling: the same load on 1 and on 2 workers
    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (the default server)

A scratch database is migrated and seeded with the CLI (bench/live.py), 50 extra officials are added to the
departments the procedure reaches (the DRC's intake and review staff, three supervising departments and
their three respondents), complaints are registered beforehand, and gunicorn starts with gunicorn.conf.py.
Each official is a thread with its own keep-alive connection and API token, looping: read the inbox
(first 20), take a task already claimed by them or claim one of the first five unclaimed (a 409 means a
colleague was faster: expected, counted), complete it with the form data of the smoke path, think
0–`--think` ms. Requests go to 127.0.0.1 only; the loop stops at the deadline.

Afterwards, from the database alone: `engine.workflow.consistency.check` (state, inbox rows, history and
audit agree for every case), every 200 answer to a completion matches exactly one task completed by
that official, and no task was completed without a 200. Results go to bench/results/load.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import STEPS, machine_facts, pg_url  # noqa: E402
from bench.live import Client, Deployment, Gunicorn, postgres_deployment, process_cpu_seconds  # noqa: E402

FORMS = {name: data for name, data, _user in STEPS}
RESPONDENTS = ["km-guandu-commerce", "qj-qilin-commerce", "hh-mengzi-industry"]
# department code, roles, how many of the 50 (the supervisors do 4 of the 7 steps)
TEAMS = [("ndrc", ["intake"], 8), ("ndrc", ["ndrc"], 6), ("km-commerce", ["official"], 7),
         ("qj-commerce", ["official"], 7), ("hh-industry", ["official"], 7), ("km-guandu-commerce", ["official"], 5),
         ("qj-qilin-commerce", ["official"], 5), ("hh-mengzi-industry", ["official"], 5)]


def add_officials(deployment: Deployment, count: int) -> list[str]:
    """`count` officials spread over TEAMS in proportion (names load-NN); returns their usernames."""
    from sqlalchemy import select

    import engine.models  # noqa: F401
    from engine.org.models import Department, Official
    from engine.org.security import hash_password

    total = sum(n for _, _, n in TEAMS)
    plan = [(code, roles) for code, roles, n in TEAMS for _ in range(max(1, round(n * count / total)))][:count]
    plan += [("km-commerce", ["official"])] * (count - len(plan))  # rounding: the busiest team gets the rest
    password = hash_password("Load-test-2026")
    names = []
    with deployment.session() as session:
        departments = {d.code: d for d in session.scalars(select(Department))}
        for i, (code, roles) in enumerate(plan):
            name = f"load-{i:02d}"
            session.add(Official(username=name, full_name=f"压测{i:02d}", department=departments[code], roles=roles,
                                 password_hash=password, email=f"{name}@lvyue.example"))
            names.append(name)
        session.commit()
    return names


class Official(threading.Thread):
    """One official working the inbox until the deadline; records every request's latency and outcome."""

    def __init__(self, username: str, token: str, port: int, deadline: float, think_ms: int, seed: int) -> None:
        super().__init__(name=username, daemon=True)
        self.username, self.deadline, self.think = username, deadline, think_ms / 1000
        self.client = Client(port, token, timeout=120)
        self.random = random.Random(seed)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.completed: list[str] = []
        self.errors: list[str] = []
        self.idle = 0

    def call(self, kind: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        start = time.perf_counter()
        status, payload = self.client.json(method, path, body)
        self.latency[kind].append(time.perf_counter() - start)
        self.statuses[(kind, status)] += 1
        return status, payload

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.step()
                time.sleep(self.random.uniform(0, self.think))
        except Exception as exc:  # a broken connection or an unreadable answer is an error of the run
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.client.close()

    def step(self) -> None:
        status, page = self.call("inbox", "GET", "/api/v1/tasks?limit=20")
        if status != 200:
            self.errors.append(f"inbox {status}: {page}")
            return
        mine = [t for t in page["items"] if t["claimed_by"] == self.username]
        free = [t for t in page["items"] if t["claimed_by"] is None]
        if not mine and not free:
            self.idle += 1
            time.sleep(0.2)
            return
        task = mine[0] if mine else self.random.choice(free[:5])
        if not mine:
            status, body = self.call("claim", "POST", f"/api/v1/tasks/{task['id']}/claim")
            if status == 409:
                return  # a colleague claimed it first: the inbox shows it was taken
            if status != 200:
                self.errors.append(f"claim {status}: {body}")
                return
        status, body = self.call("complete", "POST", f"/api/v1/tasks/{task['id']}/complete", FORMS[task["spec_name"]])
        if status == 200:
            self.completed.append(task["id"])
        else:
            self.errors.append(f"complete {task['spec_name']} {status}: {body}")


def database_backends_cpu(deployment: Deployment) -> float:
    """CPU seconds of the PostgreSQL backends serving the scratch database (this query's own included)."""
    from sqlalchemy import text

    with deployment.session() as session:
        pids = session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
        return sum(process_cpu_seconds(pid) for pid in pids)


def percentiles(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)

    def at(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

    return {"n": len(ms), "mean_ms": round(sum(ms) / len(ms), 1), "p50_ms": at(0.5), "p95_ms": at(0.95),
            "p99_ms": at(0.99), "max_ms": round(ms[-1], 1)}


def verify(deployment: Deployment, officials: list[Official]) -> dict[str, Any]:
    """The database after the run: consistent cases, and completions exactly as the clients saw them."""
    from sqlalchemy import select

    import engine.models  # noqa: F401
    from engine.org.models import Official as Row
    from engine.workflow import consistency
    from engine.workflow.models import HumanTask

    with deployment.session() as session:
        report = consistency.check(session)
        done = dict(session.execute(select(HumanTask.id, Row.username).join(
            Row, HumanTask.completed_by_id == Row.id).where(HumanTask.outcome == "completed")).all())
        open_tasks = session.scalar(select(HumanTask.id).where(HumanTask.completed_at.is_(None)).limit(1))
    answered = Counter(task_id for o in officials for task_id in o.completed)
    by_whom = {task_id: o.username for o in officials for task_id in o.completed}
    loaded = {tid for tid, who in done.items() if who.startswith("load-")}
    return {
        "consistent": report.ok, "problems": report.lines()[:20], "instances": report.instances,
        "tasks": report.tasks, "completed_in_db": len(loaded),
        "completions_answered_200": sum(answered.values()),
        "answered_twice": [t for t, n in answered.items() if n > 1],
        "answered_but_not_completed": [t for t in answered if done.get(t) != by_whom[t]][:20],
        "completed_without_answer": sorted(loaded - set(answered))[:20],
        "open_tasks_left": open_tasks is not None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %z")
    with postgres_deployment("load", args.pg) as deployment:
        print(f"· scratch database ready; registering {args.complaints} complaints …", flush=True)
        names = add_officials(deployment, args.officials)
        tokens = deployment.tokens(names)
        t0 = time.perf_counter()
        deployment.register_complaints(args.complaints, RESPONDENTS)
        register_s = time.perf_counter() - t0
        server = Gunicorn(deployment, workers=args.workers).start()
        try:
            print(f"· gunicorn ({args.workers} workers) on 127.0.0.1:{server.port}; {len(names)} officials for "
                  f"{args.duration} s …", flush=True)
            load_before = os.getloadavg()
            cpu_before = os.times()
            server_cpu_before = server.cpu_seconds()  # start-up (imports, app factory) is not load
            deadline = time.monotonic() + args.duration
            officials = [Official(n, tokens[n], server.port, deadline, args.think, seed=i)
                         for i, n in enumerate(names)]
            t0 = time.perf_counter()
            for o in officials:
                o.start()
            for o in officials:
                o.join(args.duration + 180)
            wall = time.perf_counter() - t0
            load_after = os.getloadavg()
            cpu_after = os.times()
            server_cpu = server.cpu_seconds() - server_cpu_before
            database_cpu = database_backends_cpu(deployment)
        finally:
            server.stop()
        print("· verifying from the database …", flush=True)
        checks = verify(deployment, officials)
    latency: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    for o in officials:
        for kind, values in o.latency.items():
            latency[kind].extend(values)
        for (kind, status), n in o.statuses.items():
            statuses[f"{kind} {status}"] += n
    errors = [e for o in officials for e in o.errors]
    completed = sum(len(o.completed) for o in officials)
    every = [s for values in latency.values() for s in values]
    return {
        "started_at": started_at, "machine": machine_facts(),
        "settings": {"officials": len(officials), "duration_s": args.duration, "workers": args.workers,
                     "complaints": args.complaints, "think_ms_max": args.think},
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
        "client_cpu_s": round((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 1),
        "register_complaints_s": round(register_s, 1), "wall_s": round(wall, 1),
        "gunicorn_cpu_s": round(server_cpu, 1), "postgres_backends_cpu_s": round(database_cpu, 1),
        "server_cpu_ms_per_step": round(1000 * server_cpu / completed, 1) if completed else None,
        "postgres_cpu_ms_per_step": round(1000 * database_cpu / completed, 1) if completed else None,
        "requests": len(every), "requests_per_s": round(len(every) / wall, 1),
        "steps_completed": completed, "steps_per_s": round(completed / wall, 1),
        "idle_polls": sum(o.idle for o in officials),
        "latency": {"all": percentiles(every), **{k: percentiles(v) for k, v in sorted(latency.items())}},
        "statuses": dict(sorted(statuses.items())), "errors": len(errors), "error_samples": errors[:10],
        "verification": checks,
        "passed": not errors and checks["consistent"] and not checks["answered_twice"]
                  and not checks["answered_but_not_completed"] and not checks["completed_without_answer"],
    }


def scaling(args: argparse.Namespace) -> dict[str, Any]:
    """The same load against 1, then 2 (… `--compare`) gunicorn workers on one database, one run after another.

    Each run starts gunicorn afresh, lets the officials work for `--duration` s and records completed steps per
    second, the machine's load average before and after, the CPU of gunicorn and of the database's backends.
    The database is checked once at the end (every run's answers against the rows). Appending to the audit log
    takes no global lock (engine/audit/chains.py), so steps on different cases never wait for each other.
    """
    counts = [int(c) for c in args.compare.split(",")]
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %z")
    runs: list[dict[str, Any]] = []
    every: list[Official] = []
    with postgres_deployment("scaling", args.pg) as deployment:
        names = add_officials(deployment, args.officials)
        tokens = deployment.tokens(names)
        print(f"· registering {args.complaints} complaints …", flush=True)
        deployment.register_complaints(args.complaints, RESPONDENTS)
        for workers in counts:
            server = Gunicorn(deployment, workers=workers).start()
            try:
                load_before = os.getloadavg()
                server_cpu_before = server.cpu_seconds()
                database_cpu_before = database_backends_cpu(deployment)
                deadline = time.monotonic() + args.duration
                officials = [Official(n, tokens[n], server.port, deadline, args.think, seed=len(every) + i)
                             for i, n in enumerate(names)]
                t0 = time.perf_counter()
                for o in officials:
                    o.start()
                for o in officials:
                    o.join(args.duration + 180)
                wall = time.perf_counter() - t0
                load_after = os.getloadavg()
                server_cpu = server.cpu_seconds() - server_cpu_before
                database_cpu = database_backends_cpu(deployment) - database_cpu_before
            finally:
                server.stop()
            every += officials
            completed = sum(len(o.completed) for o in officials)
            run = {"workers": workers, "wall_s": round(wall, 1), "steps_completed": completed,
                   "steps_per_s": round(completed / wall, 2),
                   "requests_per_s": round(sum(len(v) for o in officials for v in o.latency.values()) / wall, 1),
                   "errors": sum(len(o.errors) for o in officials),
                   "error_samples": [e for o in officials for e in o.errors][:5],
                   "idle_polls": sum(o.idle for o in officials),
                   "loadavg_before": [round(x, 2) for x in load_before],
                   "loadavg_after": [round(x, 2) for x in load_after],
                   "gunicorn_cpu_s": round(server_cpu, 1), "postgres_backends_cpu_s": round(database_cpu, 1),
                   "complete_latency": percentiles([x for o in officials for x in o.latency["complete"]])}
            runs.append(run)
            print(f"· {workers} worker(s): {run['steps_per_s']} steps/s, load {run['loadavg_before'][0]} → "
                  f"{run['loadavg_after'][0]}, errors {run['errors']}", flush=True)
        print("· verifying from the database …", flush=True)
        checks = verify(deployment, every)
    by_workers: dict[int, list[float]] = defaultdict(list)
    for run in runs:
        by_workers[run["workers"]].append(run["steps_per_s"])
    mean = {w: sum(v) / len(v) for w, v in by_workers.items()}
    base = mean.get(min(mean))
    return {
        "started_at": started_at, "machine": machine_facts(),
        "settings": {"officials": len(names), "duration_s": args.duration, "complaints": args.complaints,
                     "think_ms_max": args.think, "order": counts},
        "runs": runs, "mean_steps_per_s": {str(w): round(v, 2) for w, v in sorted(mean.items())},
        "speedup_over_fewest_workers": {str(w): round(v / base, 2) for w, v in sorted(mean.items())} if base else {},
        "verification": checks,
        "passed": not any(r["errors"] for r in runs) and checks["consistent"] and not checks["answered_twice"]
                  and not checks["answered_but_not_completed"] and not checks["completed_without_answer"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--officials", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (bounded)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--complaints", type=int, default=300, help="registered before the run")
    parser.add_argument("--think", type=int, default=100, help="maximum think time between steps, ms")
    parser.add_argument("--pg", default=pg_url(), help="PostgreSQL server for the scratch database")
    parser.add_argument("--compare", default=None, metavar="1,2",
                        help="worker counts to run one after another on one database (scaling; load-scaling.json)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.duration = min(args.duration, 600)
    if args.compare:
        out = args.out or ROOT / "bench" / "results" / "load-scaling.json"
        result = scaling(args)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: result[k] for k in ("mean_steps_per_s", "speedup_over_fewest_workers", "passed")},
                         ensure_ascii=False))
        print(f"written to {out}")
        return 0 if result["passed"] else 1
    args.out = args.out or ROOT / "bench" / "results" / "load.json"
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    summary = {k: result[k] for k in ("steps_completed", "steps_per_s", "requests_per_s", "errors", "passed",
                                      "server_cpu_ms_per_step", "postgres_cpu_ms_per_step")}
    print(json.dumps({**summary, "latency_all": result["latency"]["all"],
                      "complete": result["latency"].get("complete"), "loadavg_after": result["loadavg_after"]},
                     ensure_ascii=False, indent=1))
    print(f"written to {args.out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
