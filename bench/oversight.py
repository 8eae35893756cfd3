"""Oversight statistics at scale: a million complaints inserted in bulk, then the dashboard's queries timed.

Run: `.venv/bin/python bench/oversight.py [--rows N | --quick] [--no-postgres] [--no-sqlite]`; figures go to
bench/results/oversight.json (or `--out`). The rows are written with multi-row INSERTs in chunks (SQLAlchemy
Core executemany: `insertmanyvalues` on both databases), not through the engine: a million cases walked through
the procedure would take hours and exercise the workflow, not the statistics.

Each database is measured twice: first without the statistics indexes (they are dropped), then with them
(created as migrations/…_oversight_indexes.py creates them), each after ANALYZE. Timed (median of a few runs):
`figures()` for a quarter and for a year (province), `figures()` for one prefecture, `ranking()` by prefecture
and by department, and the drill-down list of one figure (first page and count).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    machine_facts,
    make_engine,
    postgres_available,
    prepare_database,
    scratch_postgres,
    scratch_sqlite,
    server_version,
)
from engine.cases.models import CHANNELS, DOMAINS, Complaint  # noqa: E402
from engine.credit.models import AppliedMeasure, BreachRecord, MeasureType, PlatformDelivery  # noqa: E402
from engine.deadlines.models import ClockPause  # noqa: E402
from engine.org.models import Department  # noqa: E402
from engine.oversight import drill, query, statistics  # noqa: E402
from engine.oversight.periods import Period  # noqa: E402
from engine.oversight.scope import Scope  # noqa: E402
from engine.oversight.statistics import figures, ranking  # noqa: E402
from engine.workflow.models import HumanTask, ProcessInstance, ProcessModel  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730  # complaints received over 2025–2026
NOW = datetime(2026, 12, 31, 8, tzinfo=UTC)
QUARTER = Period.quarter(2026, 2)
YEAR = Period.year(2026)
CHUNK = 5_000
# name, columns: the statistics indexes (see engine/cases/models.py, engine/workflow/models.py)
INDEXES = [
    ("ix_complaint_received_at", "complaint", "received_at"),
    ("ix_complaint_closed_at", "complaint", "closed_at"),
    ("ix_human_task_spec_completed", "human_task", "spec_name, completed_at, created_at, outcome, subject_id"),
    ("ix_human_task_spec_due", "human_task", "spec_name, due_at, completed_at, outcome, subject_id"),
]


def generate(engine: Engine, rows: int, seed: int = 7) -> dict[str, int]:
    """Insert `rows` complaints with their instance, tasks, pauses, records, measures and deliveries."""
    rnd = random.Random(seed)
    counts = dict.fromkeys(("complaint", "process_instance", "human_task", "clock_pause", "breach_record",
                            "applied_measure", "platform_delivery"), 0)
    with Session(engine) as session:
        depts = session.execute(select(Department.id, Department.name, Department.superior_id,
                                       Department.division_code, Department.prefecture_code)
                                .where(Department.code != "ndrc")).all()
        ndrc = session.scalar(select(Department.id).where(Department.code == "ndrc"))
        model_id = session.scalar(select(ProcessModel.id).where(ProcessModel.key == "complaint"))
        measure_id = session.scalar(select(MeasureType.id).limit(1))
        if measure_id is None:
            from engine.credit.services import ensure_catalogue

            ensure_catalogue(session)
            session.commit()
            measure_id = session.scalar(select(MeasureType.id).limit(1))
        first_id = (session.scalar(select(func.max(Complaint.id))) or 0) + 1
    channels, domains = list(CHANNELS), list(DOMAINS)
    t0 = time.perf_counter()
    next_id = first_id
    with engine.begin() as conn:
        while next_id < first_id + rows:
            batch = min(CHUNK, first_id + rows - next_id)
            c_rows, i_rows, t_rows, p_rows, r_rows, m_rows, d_rows = [], [], [], [], [], [], []
            for cid in range(next_id, next_id + batch):
                received = START + timedelta(seconds=rnd.randrange(SPAN_DAYS * 86400))
                dept = rnd.choice(depts) if rnd.random() > 0.02 else None
                supervisor = (dept[2] if dept and dept[2] else ndrc)
                fate = rnd.random()
                screened = received + timedelta(hours=rnd.uniform(2, 240))
                verified = screened + timedelta(hours=rnd.uniform(4, 800))
                status, result, closed = "closed", None, None
                tasks = [("screening", received, received + timedelta(days=9), screened, "completed")]
                if fate < 0.02:
                    status, result, closed, tasks = "merged", "merged", screened, [
                        ("screening", received, received + timedelta(days=9), screened, "merged")]
                elif fate < 0.15:
                    result, closed = "rejected", screened
                elif fate < 0.20 and screened > NOW:
                    status, tasks = "screening", [("screening", received, received + timedelta(days=9), None, None)]
                else:
                    verify_due = screened + timedelta(days=21)
                    if verified > NOW or fate > 0.97:  # still verifying (some long overdue)
                        status = "verifying"
                        tasks.append(("verify", screened, verify_due, None, None))
                    else:
                        tasks.append(("verify", screened, verify_due, verified, "completed"))
                        outcome = rnd.random()
                        if outcome < 0.35:
                            result, closed = "unfounded", verified + timedelta(hours=1)
                        elif outcome < 0.45:
                            status = "negotiating"
                            tasks.append(("resolve_dispute", verified, verified + timedelta(days=42), None, None))
                        else:
                            ordered = verified + timedelta(hours=rnd.uniform(2, 72))
                            reported = ordered + timedelta(days=rnd.uniform(3, 40))
                            tasks.append(("order_rectification", verified, verified + timedelta(days=3), ordered,
                                          "completed"))
                            tasks.append(("report_rectification", ordered, ordered + timedelta(days=30), reported,
                                          "completed"))
                            if outcome < 0.85:
                                result, closed = "rectified", reported + timedelta(days=2)
                                tasks.append(("review_rectification", reported, reported + timedelta(days=7), closed,
                                              "completed"))
                            else:
                                confirmed = reported + timedelta(days=3)
                                result, closed = "breach_reported", confirmed + timedelta(days=2)
                                tasks.append(("confirm_breach_task", reported, reported + timedelta(days=7),
                                              confirmed, "completed"))
                                tasks.append(("ndrc_review", confirmed, confirmed + timedelta(days=7), closed,
                                              "completed"))
                                rid = cid
                                r_rows.append(_record(rid, cid, dept, confirmed, rnd))
                                m_rows.append({"record_id": rid, "measure_type_id": measure_id,
                                               "applied_at": confirmed + timedelta(days=5), "document_number": "m",
                                               "applied_by_label": "bench"})
                                for version in (1, 2):
                                    queued = confirmed + timedelta(days=5 * (version - 1))
                                    late = rnd.random()
                                    d_rows.append({
                                        "record_id": rid, "record_version": version, "target": "provincial",
                                        "idempotency_key": f"{rid}:{version}", "event": "created", "payload": {},
                                        "created_at": queued, "next_attempt_at": queued,
                                        "attempts": 0 if late > 0.98 else 1,
                                        "delivered_at": None if late > 0.96 else queued + timedelta(
                                            hours=rnd.choice((0.1, 0.5, 2, 50)))})
                if closed and closed > NOW:
                    closed = None
                    status, result = "verifying", None
                c_rows.append({
                    "id": cid, "tracking_code": f"B{cid:011d}", "status": status, "result": result,
                    "complainant_name": "云南某科技有限公司", "complainant_uscc": "91440101MA5CJQ4N59",
                    "contact_person": "李明", "contact_phone": "13888001234",
                    "respondent_id": dept[0] if dept else None, "respondent_name": dept[1] if dept else "某单位",
                    "supervisor_id": supervisor, "intake_department_id": ndrc, "agreement_name": "协议",
                    "domain": rnd.choice(domains), "breach_type": "unpaid", "facts": "事实", "claims": "诉求",
                    "channel": rnd.choice(channels), "received_at": received, "closed_at": closed,
                    "breach_confirmed_at": None, "supervised_at": None, "is_private_enterprise": True,
                    "in_litigation": False})
                i_rows.append({"id": cid, "model_id": model_id, "subject_id": cid, "state": "{}", "lock_version": 1,
                               "status": "completed" if status in ("closed", "merged") else "running",
                               "started_at": received, "updated_at": received})
                for n, (spec, created, due, completed, outcome) in enumerate(tasks):
                    if completed and completed > NOW:
                        completed, outcome = None, None
                    t_rows.append({"id": f"{cid:012d}-{n:04d}", "instance_id": cid, "subject_id": cid,
                                   "spec_name": spec, "title": spec, "lane": "supervisor",
                                   "department_id": supervisor, "due_at": due, "created_at": created,
                                   "completed_at": completed, "outcome": outcome, "due_provisional": False})
                if rnd.random() < 0.05:
                    paused = received + timedelta(days=rnd.uniform(1, 10))
                    p_rows.append({"complaint_id": cid, "reason": "补正", "paused_at": paused, "paused_by": "bench",
                                   "resumed_at": paused + timedelta(days=rnd.uniform(1, 15))})
            for model, chunk in ((Complaint, c_rows), (ProcessInstance, i_rows), (HumanTask, t_rows),
                                 (ClockPause, p_rows), (BreachRecord, r_rows), (AppliedMeasure, m_rows),
                                 (PlatformDelivery, d_rows)):
                if chunk:
                    conn.execute(insert(model), chunk)
                    counts[model.__tablename__] += len(chunk)
            next_id += batch
    counts["insert_seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def _record(rid: int, cid: int, dept: Any, confirmed: datetime, rnd: random.Random) -> dict[str, Any]:
    day = confirmed.date()
    return {
        "id": rid, "complaint_id": cid, "source": "complaint", "respondent_id": dept[0] if dept else None,
        "respondent_name": dept[1] if dept else "某单位", "respondent_uscc": None if rnd.random() < 0.3 else "x" * 18,
        "respondent_division": dept[3] if dept else None, "respondent_prefecture": dept[4] if dept else None,
        "determining_name": "认定部门", "determining_uscc": None, "determined_on": day, "document_number": f"认{rid}",
        "basis": "协议", "facts": "事实", "domain": "bidding", "rectification_state": "not_rectified",
        "severity": "ordinary", "publication_start": day, "publication_end": day + timedelta(days=365),
        "repair_eligible_from": day + timedelta(days=90), "status": "active", "version": 2,
        "created_at": confirmed, "updated_at": confirmed}


def analyze(engine: Engine) -> None:
    """ANALYZE; on PostgreSQL VACUUM too (index-only scans need the visibility map autovacuum keeps)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def set_indexes(engine: Engine, present: bool) -> None:
    with engine.begin() as conn:
        for name, table, columns in INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            if present:
                conn.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))
    analyze(engine)


def timed(fn: Any, repeat: int) -> float:
    """Median wall time of `fn` in milliseconds (one warm-up run first)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return round(times[len(times) // 2] * 1000, 1)


def measure(engine: Engine, repeat: int) -> dict[str, float]:
    with Session(engine) as session:
        prefecture = Scope.of_prefecture("530100")
        cases = {
            "figures_quarter_ms": lambda: figures(session, QUARTER, now=NOW),
            "figures_year_ms": lambda: figures(session, YEAR, now=NOW),
            "figures_quarter_prefecture_ms": lambda: figures(session, QUARTER, prefecture, now=NOW),
            "figures_quarter_channel_ms": lambda: figures(session, QUARTER, channel="counter", now=NOW),
            "ranking_prefecture_quarter_ms": lambda: ranking(session, QUARTER, "prefecture", now=NOW),
            "ranking_department_quarter_ms": lambda: ranking(session, QUARTER, "department", now=NOW),
            "drill_accepted_quarter_ms": lambda: drill.figure_cases(session, "accepted", QUARTER, Scope.province(),
                                                                    now=NOW),
            "stages_buckets_quarter_ms": lambda: statistics.stage_timings(session, QUARTER, now=NOW),
            "stages_exact_quarter_ms": lambda: statistics.stage_timings(
                session, QUARTER, now=NOW, method="native" if engine.dialect.name == "postgresql" else "window"),
        }
        result = {name: timed(fn, repeat) for name, fn in cases.items()}
        f = figures(session, QUARTER, now=NOW)
        result["quarter_received"] = f.intake.received
        result["quarter_verify_due"] = f.verification.due
        result["overdue_now"] = f.overdue.total
    return result


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(url: str, rows: int, repeat: int, reuse: bool = False) -> dict[str, Any]:
    engine = make_engine(url)
    out: dict[str, Any] = {"server": server_version(engine), "load_before": load()}
    if reuse:  # a database this script generated before (see --reuse): count what is there
        with Session(engine) as session:
            out["rows"] = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in (
                Complaint, ProcessInstance, HumanTask, ClockPause, BreachRecord, AppliedMeasure, PlatformDelivery)}
        out["reused"] = True
    else:
        prepare_database(engine)
        out["rows"] = generate(engine, rows)
    set_indexes(engine, False)
    out["without_indexes"] = measure(engine, repeat)
    out["load_middle"] = load()
    set_indexes(engine, True)
    out["with_indexes"] = measure(engine, repeat)
    if engine.dialect.name == "postgresql":  # what turning PostgreSQL's JIT off for the statistics saves
        query.DISABLE_JIT = False
        try:
            out["with_indexes_jit_on"] = measure(engine, repeat)
        finally:
            query.DISABLE_JIT = True
    out["load_after"] = load()
    out["ratios"] = {k: round(out["without_indexes"][k] / out["with_indexes"][k], 2)
                     for k in out["with_indexes"] if k.endswith("_ms") and out["with_indexes"][k]}
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="complaints to generate (default 1 000 000)")
    parser.add_argument("--quick", action="store_true", help="50 000 complaints, fewer repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per query (median; default 5, quick 3)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", metavar="URL", default=None,
                        help="measure a database generated before (e.g. by bench code kept for profiling) "
                             "instead of generating one; no insert timing")
    args = parser.parse_args()
    rows = 50_000 if args.quick else args.rows
    repeat = args.repeat or (3 if args.quick else 5)
    results: dict[str, Any] = {"machine": machine_facts(), "complaints": rows, "repeat": repeat,
                               "quarter": [QUARTER.start.isoformat(), QUARTER.end.isoformat()],
                               "now": NOW.isoformat()}
    if args.reuse:
        kind = "postgresql" if args.reuse.startswith("postgresql") else "sqlite"
        results[kind] = run(args.reuse, rows, repeat, reuse=True)
        print(json.dumps(results[kind], ensure_ascii=False, indent=1), flush=True)
    if not args.no_sqlite and not args.reuse:
        with scratch_sqlite("oversight") as url:
            print(f"SQLite: {rows} complaints …", flush=True)
            results["sqlite"] = run(url, rows, repeat)
            print(json.dumps(results["sqlite"], ensure_ascii=False, indent=1), flush=True)
    if not args.no_postgres and not args.reuse:
        why = postgres_available()
        if why:
            results["postgresql"] = {"skipped": why}
        else:
            with scratch_postgres("oversight") as url:
                print(f"PostgreSQL: {rows} complaints …", flush=True)
                results["postgresql"] = run(url, rows, repeat)
                print(json.dumps(results["postgresql"], ensure_ascii=False, indent=1), flush=True)
    out = args.out or ROOT / "bench" / "results" / ("oversight-quick.json" if args.quick else "oversight.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
