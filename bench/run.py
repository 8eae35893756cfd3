"""Run every benchmark once, print the figures and write bench/results/latest.json.

Usage: .venv/bin/python bench/run.py [--quick] [--no-postgres] [--no-server] [--out PATH]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # import `bench.*` and `engine.*` as packages, never bench/ modules as top level
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FULL = {"raw_instances": 1000, "state_repeat": 200, "service_cases": 300, "breakdown_cases": 60,
        "api_cases": 150, "server_cases": 40, "commit_repeat": 300, "inbox_tasks": 100_000, "inbox_repeat": 40,
        "gunicorn_cases": 40, "list_rows": 100_000, "list_repeat": 40}
QUICK = {"raw_instances": 60, "state_repeat": 30, "service_cases": 15, "breakdown_cases": 8,
         "api_cases": 10, "server_cases": 3, "commit_repeat": 50, "inbox_tasks": 10_000, "inbox_repeat": 10,
         "gunicorn_cases": 3, "list_rows": 5_000, "list_repeat": 5}


def section(results: dict[str, Any], key: str, fn: Callable[[], Any]) -> Any:
    """Run one benchmark, recording its wall time and the machine's load average around it."""
    print(f"· {key} …", flush=True)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    value = fn()
    results.setdefault("sections", {})[key] = {
        "seconds": round(time.perf_counter() - start, 2),
        "loadavg_1min_before": round(load_before, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2)}
    return value


def backend_figures(label: str, url: str, n: dict[str, int], results: dict[str, Any], with_api: bool,
                    with_server: bool, with_gunicorn: bool = True) -> dict[str, Any]:
    """(b) on one database, and (c) on it when asked; (d) and gunicorn on fresh databases of the same kind."""
    from bench import api, common, inbox, server, service

    out: dict[str, Any] = {}
    engine = common.make_engine(url)
    try:
        common.prepare_database(engine)
        out["server"] = common.server_version(engine)
        out["commit_ms"] = section(results, f"{label}: commit cost",
                                   lambda: service.commit_cost(engine, n["commit_repeat"]))
        out["service"] = section(results, f"{label}: (b) service layer",
                                 lambda: service.run_service(engine, n["service_cases"]))
        out["service_without_documents"] = section(
            results, f"{label}: (b) service layer, 公文 not rendered",
            lambda: service.run_service(engine, n["service_cases"], render_documents=False))
        out["breakdown"] = section(results, f"{label}: (b) breakdown",
                                   lambda: service.breakdown(engine, n["breakdown_cases"]))
    finally:
        engine.dispose()
    if with_api:
        out["api"] = section(results, f"{label}: (c) HTTP API", lambda: api.run_api(
            url, n["api_cases"], n["server_cases"] if with_server else 0))
    scratch = common.scratch_sqlite if label == "sqlite" else common.scratch_postgres
    if with_gunicorn:
        with scratch("gunicorn") as gunicorn_url:
            out["gunicorn"] = section(results, f"{label}: (c) gunicorn, lists at {n['list_rows']} rows", lambda: (
                server.run_server(gunicorn_url, n["gunicorn_cases"], n["list_rows"], n["list_repeat"])))
    with scratch("inbox") as inbox_url:
        engine = common.make_engine(inbox_url)
        try:
            common.prepare_database(engine)
            out["inbox"] = section(results, f"{label}: (d) inbox at {n['inbox_tasks']} open tasks",
                                   lambda: inbox.run_inbox(engine, n["inbox_tasks"], n["inbox_repeat"]))
        finally:
            engine.dispose()
    return out


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """Ratios and the goal check, all from figures of this one run."""
    raw_ms = results["raw"]["step"]["mean_ms"]
    raw_rate = results["raw"]["step"]["per_second"]
    derived: dict[str, Any] = {"raw_step_ms": raw_ms, "raw_steps_per_second": raw_rate}
    for label, fig in results["backends"].items():
        svc = fig["service"]["step"]
        goal_ms = 2 * (raw_ms + fig["commit_ms"]["one_row"])
        strict_ms = 2 * (raw_ms + fig["commit_ms"]["empty"])
        entry = {
            "service_steps_per_second": svc["per_second"],
            "service_step_ms": svc["mean_ms"],
            "service_over_raw_rate": round(svc["per_second"] / raw_rate, 4),
            "service_over_raw_cpu": round(fig["service"]["step_cpu_mean_ms"] / results["raw"]["step_cpu_mean_ms"], 2),
            "goal_step_ms": round(goal_ms, 4),
            "goal_steps_per_second": round(1000 / goal_ms, 1),
            "goal_met": svc["mean_ms"] <= goal_ms,
            "service_over_goal_time": round(svc["mean_ms"] / goal_ms, 2),
            "goal_with_empty_commit_steps_per_second": round(1000 / strict_ms, 1),
        }
        if "service_without_documents" in fig:
            bare = fig["service_without_documents"]["step"]
            entry["service_step_ms_without_documents"] = bare["mean_ms"]
            entry["service_without_documents_over_goal_time"] = round(bare["mean_ms"] / goal_ms, 2)
            entry["goal_met_without_documents"] = bare["mean_ms"] <= goal_ms
        if "api" in fig:
            api_rate = fig["api"]["test_client"]["step"]["per_second"]
            entry["api_steps_per_second"] = api_rate
            entry["api_over_service_rate"] = round(api_rate / svc["per_second"], 4)
            entry["api_over_raw_rate"] = round(api_rate / raw_rate, 4)
            entry["api_over_service_cpu"] = round(
                fig["api"]["test_client"]["step_cpu_mean_ms"] / fig["service"]["step_cpu_mean_ms"], 2)
            if "werkzeug_loopback" in fig["api"]:
                entry["loopback_steps_per_second"] = fig["api"]["werkzeug_loopback"]["step"]["per_second"]
        if "gunicorn" in fig:
            g = fig["gunicorn"]
            entry["gunicorn_complete_ms"] = g["complete"]["mean_ms"]
            entry["gunicorn_over_service_time"] = round(g["complete"]["mean_ms"] / svc["mean_ms"], 2)
            entry["gunicorn_goal_met"] = entry["gunicorn_over_service_time"] <= 1.5
            if "lists" in g:
                entry["http_inbox_first_page_ms"] = g["lists"]["inbox_first_page"]["median_ms"]
                entry["http_all_cases_first_page_ms"] = g["lists"]["all_cases_first_page"]["median_ms"]
        good, weak = fig["inbox"]["composite_partial_index"], fig["inbox"]["index_on_department_only"]
        entry["inbox_page_core_ms_composite_vs_department_only"] = [
            good["page_query_core_ms"], weak["page_query_core_ms"]]
        entry["inbox_page_speedup_from_composite"] = round(weak["page_query_core_ms"] / good["page_query_core_ms"], 1)
        derived[label] = entry
    return derived


def report(results: dict[str, Any]) -> None:
    m, d, st = results["machine"], results["derived"], results["state"]
    print(f"\n== Lvyue benchmarks ({results['mode']}) {m['date']}: {m['cpu_count']} CPU {m['cpu_model']}, "
          f"Python {m['python']}, SpiffWorkflow {m['SpiffWorkflow']}, SQLAlchemy {m['SQLAlchemy']}")
    raw = results["raw"]
    print(f"(a) raw SpiffWorkflow: {raw['step']['per_second']:.0f} steps/s "
          f"(mean {raw['step']['mean_ms']:.3f} ms, median {raw['step']['median_ms']:.3f} ms, "
          f"CPU {raw['step_cpu_mean_ms']:.3f} ms)")
    print(f"    state: spec-less {st['state_bytes_range_waiting']} B vs stock {st['stock_bytes_range_waiting']} B; "
          f"load {st['load_ms_specless']:.2f} vs {st['load_ms_stock']:.2f} ms")
    for label, fig in results["backends"].items():
        e = d[label]
        print(f"[{label}] {fig['server']}; commit: empty {fig['commit_ms']['empty']:.3f} ms, "
              f"one row {fig['commit_ms']['one_row']:.3f} ms")
        print(f"(b) service layer: {e['service_steps_per_second']:.0f} steps/s ({e['service_step_ms']:.2f} ms/step, "
              f"{e['service_over_raw_rate']:.3f} × raw; CPU {fig['service']['step_cpu_mean_ms']:.2f} ms = "
              f"{e['service_over_raw_cpu']:.1f} × raw CPU); goal ≥ {e['goal_steps_per_second']:.0f}/s "
              f"({e['goal_step_ms']:.2f} ms) → {'MET' if e['goal_met'] else 'NOT MET'} "
              f"({e['service_over_goal_time']:.1f} × the goal's time)")
        if "service_step_ms_without_documents" in e:
            print(f"    without rendering the 公文 (.docx left empty): {e['service_step_ms_without_documents']:.2f} ms/step "
                  f"= {e['service_without_documents_over_goal_time']:.1f} × the goal's time")
        print("    where a step's time goes: " + ", ".join(
            f"{k} {v:.2f}" for k, v in fig["breakdown"]["parts_ms"].items())
            + f" ms; {fig['breakdown']['statements_per_step_total']} statements/step")
        if "api_steps_per_second" in e:
            extra = (f", loopback server {e['loopback_steps_per_second']:.0f}/s"
                     if "loopback_steps_per_second" in e else "")
            print(f"(c) HTTP API (test client): {e['api_steps_per_second']:.0f} steps/s "
                  f"({e['api_over_service_rate']:.2f} × service layer; CPU {e['api_over_service_cpu']:.2f} × "
                  f"service layer){extra}")
        if "gunicorn_complete_ms" in e:
            print(f"(c) HTTP complete through gunicorn (1 sync worker, keep-alive client): "
                  f"{e['gunicorn_complete_ms']:.2f} ms = {e['gunicorn_over_service_time']:.2f} × (b) "
                  f"→ {'MET' if e['gunicorn_goal_met'] else 'NOT MET'} (≤ 1.5 ×)")
        if "http_inbox_first_page_ms" in e:
            print(f"(d) over HTTP at {fig['gunicorn']['lists']['rows_added']} rows: inbox first page "
                  f"{e['http_inbox_first_page_ms']:.2f} ms, DRC's all-case list {e['http_all_cases_first_page_ms']:.2f} ms")
        for variant in ("composite_partial_index", "index_on_department_only", "no_department_index"):
            v = fig["inbox"][variant]
            call = f", inbox() call {v['inbox_call_ms']:.2f} ms" if "inbox_call_ms" in v else ""
            print(f"(d) inbox, {variant}: page {v['page_query_core_ms']:.3f} ms (Core) / "
                  f"{v['page_query_orm_ms']:.3f} ms (ORM), exact count {v['count_query_ms']:.2f} ms{call}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run under a minute")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL (BENCH_PG_URL)")
    parser.add_argument("--no-server", action="store_true", help="skip the real werkzeug server over loopback")
    parser.add_argument("--no-gunicorn", action="store_true", help="skip gunicorn (HTTP complete, lists over HTTP)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)  # the engine logs every step at INFO; keep that out of timings
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the dev server logs each request otherwise

    from bench import common, raw

    n = QUICK if args.quick else FULL
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "counts": n,
                               "machine": common.machine_facts()}
    results["machine"]["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    proc = section(results, "setup: parse diagram", raw.Procedure)
    results["raw"] = section(results, "(a) raw SpiffWorkflow", lambda: raw.run_raw(proc, n["raw_instances"]))
    results["state"] = section(results, "state size", lambda: raw.state_sizes(proc, n["state_repeat"]))
    results["backends"] = {}
    with common.scratch_sqlite("main") as url:
        results["backends"]["sqlite"] = backend_figures("sqlite", url, n, results, True, not args.no_server,
                                                        not args.no_gunicorn)
    why_not = "skipped (--no-postgres)" if args.no_postgres else common.postgres_available()
    if why_not is None:
        with common.scratch_postgres("main") as url:
            results["backends"]["postgresql"] = backend_figures("postgresql", url, n, results, False, False,
                                                                not args.no_gunicorn)
    else:
        results["postgresql_skipped"] = why_not
        print(f"· PostgreSQL skipped: {why_not}")
    results["derived"] = derive(results)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"\nwritten {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
