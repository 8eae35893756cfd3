"""Fault test: SIGKILL the whole server (gunicorn master and workers) at random moments while officials complete
steps, restart it, and check that every case is wholly before or wholly after each step — never between.

Needs PostgreSQL (TEST_DATABASE_URL) and gunicorn; marked `slow` (about a minute; skip with -m "not slow").
Bounded: ROUNDS kills, each after at most ~3 s of load, on 127.0.0.1 only.
"""
from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.live import Deployment, Gunicorn, postgres_deployment
from bench.load import RESPONDENTS, Official, add_officials

PG = os.environ.get("TEST_DATABASE_URL", "")
ROUNDS = 5
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not PG.startswith(("postgres://", "postgresql")),
                       reason="needs PostgreSQL: run with TEST_DATABASE_URL=postgresql://..."),
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="gunicorn not installed (prod extra)"),
]


class Driver(Official):
    """An official from the load test that also reports which completions are in flight when the server dies."""

    inflight = 0
    lock = threading.Lock()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []  # completions sent, whatever the answer (or none)

    def call(self, kind: str, method: str, path: str, body: object = None) -> tuple[int, object]:
        if kind != "complete":
            return super().call(kind, method, path, body)
        self.sent.append(path.split("/")[-2])
        with Driver.lock:
            Driver.inflight += 1
        try:
            return super().call(kind, method, path, body)
        finally:
            with Driver.lock:
                Driver.inflight -= 1


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with postgres_deployment("fault", PG) as prepared:
        prepared.workdir = tmp_path_factory.mktemp("fault")
        yield prepared


def test_killing_the_server_never_leaves_a_case_between_two_states(deployment: Deployment) -> None:
    from engine.org.models import Official as Row
    from engine.workflow import consistency
    from engine.workflow.models import HumanTask

    names = add_officials(deployment, 12)
    tokens = deployment.tokens(names)
    deployment.register_complaints(30, RESPONDENTS)
    rng = random.Random(int(os.environ.get("FAULT_SEED", "0")) or None)
    drivers: list[Driver] = []
    kills_mid_step = 0
    for round_no in range(ROUNDS):
        server = Gunicorn(deployment, workers=2).start()
        deadline = time.monotonic() + 30  # never reached: the kill comes first
        crew = [Driver(n, tokens[n], server.port, deadline, 20, seed=round_no * 100 + i) for i, n in enumerate(names)]
        for driver in crew:
            driver.start()
        time.sleep(rng.uniform(0.8, 3.0))
        waited = time.monotonic() + 2
        while Driver.inflight == 0 and time.monotonic() < waited:  # strike while a step is being processed
            time.sleep(0.005)
        kills_mid_step += Driver.inflight > 0
        server.kill()
        for driver in crew:
            driver.join(60)
            assert not driver.is_alive()
        drivers += crew

    server = Gunicorn(deployment, workers=2).start()  # the server comes back on the same database
    try:
        survivor = Driver(names[0], tokens[names[0]], server.port, time.monotonic() + 3, 20, seed=1)
        survivor.run()
        assert not survivor.errors, survivor.errors
    finally:
        server.stop()

    with deployment.session() as session:
        report = consistency.check(session)
        done = dict(session.execute(select(HumanTask.id, Row.username).join(
            Row, HumanTask.completed_by_id == Row.id).where(HumanTask.outcome == "completed")).all())
    assert report.ok, report.lines()
    confirmed = {task_id: d.username for d in drivers for task_id in d.completed}
    assert confirmed, "no step was completed between the kills"
    lost = {t: who for t, who in confirmed.items() if done.get(t) != who}
    assert not lost  # every step the server answered 200 to is in the database, by that official
    sent = {t for d in drivers for t in d.sent}
    loaded = {t for t, who in done.items() if who.startswith("load-")} - set(survivor.completed)
    assert loaded <= sent  # nothing completed that nobody sent
    assert kills_mid_step >= 1, "no kill struck while a step was in flight"
    print(f"fault test: {ROUNDS} kills ({kills_mid_step} while a step was in flight), {len(confirmed)} steps "
          f"answered 200, {len(sent) - len(confirmed)} sent without an answer, {report.completed} completed in all")
    errors = [e for d in drivers for e in d.errors]
    assert all(not e.startswith(("inbox", "claim", "complete")) for e in errors), errors  # only broken connections
