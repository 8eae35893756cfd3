"""(c) and (d) through a real server: gunicorn (gunicorn.conf.py, sync workers) on loopback, keep-alive client.

A scratch database is prepared with the CLI (bench/live.py); one gunicorn worker serves it. Timed: completing a
task over HTTP (`POST /api/v1/tasks/<id>/complete`, the whole walk of the smoke path), and the first page of the
provincial DRC's inbox (`GET /api/v1/tasks`) and of its all-case list (`GET /api/v1/complaints`) after
`list_rows` complaints (bench/oversight.py's generator) and `list_rows` open tasks (bench/inbox.py) were added.
The client is bench/live.Client (one HTTP/1.1 connection per official, reopened when the server closes it).
"""
from __future__ import annotations

import time
from typing import Any

from bench.common import COMPLAINT, STEPS, check, make_engine, stats
from bench.live import Client, Deployment, Gunicorn

LIST_USER = "ndrc"  # the provincial DRC: the busiest inbox, and every case


def _walk(clients: dict[str, Client], cases: int) -> tuple[list[float], list[float]]:
    """Register `cases` complaints and complete their steps; returns the completion and inbox-read times."""
    posts, reads = [], []
    for _ in range(cases):
        status, created = clients["intake"].json("POST", "/api/v1/complaints", COMPLAINT)
        check(status == 201, created)
        for name, data, username in STEPS:
            start = time.perf_counter()
            status, page = clients[username].json("GET", f"/api/v1/tasks?complaint_id={created['id']}")
            reads.append(time.perf_counter() - start)
            check(status == 200 and page["total"] == 1, page)
            task = page["items"][0]
            check(task["spec_name"] == name, (task["spec_name"], name))
            start = time.perf_counter()
            status, body = clients[username].json("POST", f"/api/v1/tasks/{task['id']}/complete", data)
            posts.append(time.perf_counter() - start)
            check(status == 200, body)
    return posts, reads


def _median_get(client: Client, path: str, repeat: int) -> tuple[float, Any]:
    status, body = client.json("GET", path)
    check(status == 200, body)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        status, body = client.json("GET", path)
        times.append(time.perf_counter() - start)
        check(status == 200, body)
    return stats(times).median_ms, body


def run_server(url: str, cases: int, list_rows: int, repeat: int) -> dict[str, Any]:
    """Prepare `url` with the CLI, start one gunicorn worker, time completions, then the lists at `list_rows`."""
    from bench import inbox, oversight

    deployment = Deployment(url)
    deployment.prepare()
    users = sorted({u for _, _, u in STEPS} | {"intake", LIST_USER})
    tokens = deployment.tokens(users)
    server = Gunicorn(deployment, workers=1).start()
    result: dict[str, Any] = {"workers": 1, "worker_class": "sync"}
    try:
        clients = {u: Client(server.port, tokens[u]) for u in users}
        _walk(clients, 2)  # warm up the worker (imports, caches, pool)
        cpu_before = server.cpu_seconds()
        start = time.perf_counter()
        posts, reads = _walk(clients, cases)
        result["walk_s"] = round(time.perf_counter() - start, 2)
        result["complete"] = stats(posts).as_dict()
        result["get_inbox_of_case"] = stats(reads).as_dict()
        result["server_cpu_ms_per_request"] = round(
            1000 * (server.cpu_seconds() - cpu_before) / (len(posts) + len(reads) + cases), 3)
        if list_rows:
            engine = make_engine(url)
            try:
                start = time.perf_counter()
                oversight.generate(engine, list_rows)
                inbox.fill(engine, list_rows)
                oversight.analyze(engine)
                result["list_fill_s"] = round(time.perf_counter() - start, 1)
            finally:
                engine.dispose()
            lists: dict[str, Any] = {"rows_added": list_rows}
            for key, path in (("inbox_first_page", "/api/v1/tasks?limit=50"),
                              ("all_cases_first_page", "/api/v1/complaints?limit=50")):
                median, body = _median_get(clients[LIST_USER], path, repeat)
                lists[key] = {"median_ms": round(median, 3), "total": body["total"],
                              "total_exact": body["total_exact"], "items": len(body["items"])}
            result["lists"] = lists
        for client in clients.values():
            client.close()
    finally:
        server.stop()
    return result
