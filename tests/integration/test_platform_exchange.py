"""Breach records reach the credit platform through the outbox: a real local HTTP receiver that is down,
slow and failing before it recovers stores every record version exactly once; the file-drop exchange too."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.credit import exchange, services
from engine.credit.models import PlatformDelivery

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


class Receiver:
    """A platform endpoint that answers the first requests badly on purpose and stores by Idempotency-Key."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)  # one behaviour per request: "503", "slow", "500"; then "ok"
        self.received: list[str] = []
        self.behaviours: list[tuple[str, str]] = []
        self.stored: dict[str, dict] = {}
        self.store_count: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                with receiver.lock:
                    receiver.received.append(key)
                    behaviour = receiver.script.pop(0) if receiver.script else "ok"
                    receiver.behaviours.append((key, behaviour))
                if behaviour in ("503", "500"):
                    self.send_response(int(behaviour))
                    self.end_headers()
                    return
                if behaviour == "slow":
                    time.sleep(1.0)  # the sender gave up already; we still store it (response lost)
                with receiver.lock:
                    if key not in receiver.stored:  # dedupe: a key is stored once
                        receiver.stored[key] = body
                        receiver.store_count[key] = receiver.store_count.get(key, 0) + 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/credit/records"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _records(session: Session, n: int = 3) -> list:
    made = []
    for i in range(n):
        made.append(services.create_record(
            session, now=NOW, source="test", respondent_name=f"某县商务局{i}", respondent_uscc=None,
            respondent_division="530111", respondent_prefecture="530100", determining_name="昆明市商务局",
            document_number=f"昆商认〔2026〕{i}号", basis="协议第五条", facts="拒不兑现", domain="investment_promotion",
            severity="ordinary"))
    services.apply_measure(session, made[0], "public_criticism", "云发改信用〔2026〕30号", None, None, NOW)
    session.commit()
    return made


@pytest.fixture
def records(session: Session) -> list:
    return _records(session)


def _pending(session: Session) -> list[PlatformDelivery]:
    session.expire_all()
    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.delivered_at.is_(None))))


def test_outage_slowness_and_errors_delay_but_never_duplicate(session: Session, records: list) -> None:
    all_keys = {d.idempotency_key for d in session.scalars(select(PlatformDelivery))}
    first = records[0]
    assert all_keys == {f"{first.id}:1", f"{first.id}:2", f"{records[1].id}:1", f"{records[2].id}:1"}

    # the platform is down altogether: nothing delivered, nothing lost
    assert exchange.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5) == 0
    [failed] = [d for d in _pending(session) if d.attempts]
    assert failed.idempotency_key == f"{first.id}:1"
    assert failed.last_error
    assert len(_pending(session)) == 4

    with Receiver(["503", "slow", "500"]) as receiver:
        now = NOW
        exchange.deliver(session, receiver.url, now, timeout=0.3)
        assert f"{first.id}:1" not in receiver.received  # backing off after the refused connection
        assert f"{first.id}:2" not in receiver.received  # and its next version waits for it
        for _ in range(20):
            now += timedelta(hours=7)  # past the longest backoff
            exchange.deliver(session, receiver.url, now, timeout=0.3)
            if not _pending(session):
                break
        time.sleep(1.2)  # let the slow request finish storing

    assert _pending(session) == []
    assert [b for _k, b in receiver.behaviours[:3]] == ["503", "slow", "500"]
    assert set(receiver.stored) == all_keys  # every version stored ...
    assert all(count == 1 for count in receiver.store_count.values())  # ... exactly once
    assert set(receiver.received) == all_keys
    [slow_key] = [k for k, b in receiver.behaviours if b == "slow"]
    assert receiver.received.count(slow_key) >= 2  # the response was lost, so it was sent again: stored once
    assert receiver.store_count[slow_key] == 1
    for key, behaviour in receiver.behaviours[:3]:
        row = session.scalar(select(PlatformDelivery).where(PlatformDelivery.idempotency_key == key))
        assert row.attempts >= 2, (key, behaviour)
        assert row.delivered_at is not None
    row = session.scalar(select(PlatformDelivery).where(PlatformDelivery.idempotency_key == f"{first.id}:1"))
    assert row.delivered_via == "http"
    assert row.last_error is None
    stored = receiver.stored[f"{first.id}:2"]
    assert (stored["JLBH"], stored["BBH"], stored["BGLX"]) == (first.id, 2, "measure_applied")
    assert stored["SXZTMC"] == "某县商务局0"
    assert [m["CSMC"] for m in stored["CJCS"]] == ["公开通报批评"]
    assert receiver.stored[f"{first.id}:1"]["CJCS"] == []  # version 1 as it was: no measure yet
    # order is kept: version 1 of a record reaches the platform before version 2
    assert receiver.received.index(f"{first.id}:1") < receiver.received.index(f"{first.id}:2")


def test_a_record_delivered_is_not_sent_again(session: Session, records: list) -> None:
    with Receiver([]) as receiver:
        assert exchange.deliver(session, receiver.url, NOW, timeout=2) == 4
        assert exchange.deliver(session, receiver.url, NOW + timedelta(days=1), timeout=2) == 0
    assert sorted(receiver.received) == sorted(receiver.stored)


def test_operator_retries_a_failed_delivery_at_once(session: Session, records: list) -> None:
    assert exchange.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5) == 0
    [failed] = exchange.failed_deliveries(session)
    exchange.retry_now(session, failed.id, NOW + timedelta(seconds=5))
    session.commit()
    with Receiver([]) as receiver:
        assert exchange.deliver(session, receiver.url, NOW + timedelta(seconds=5), timeout=2) == 4
    assert exchange.failed_deliveries(session) == []


def test_file_drop_writes_each_version_once_atomically(session: Session, records: list, tmp_path: Path) -> None:
    drop = tmp_path / "exchange"
    assert exchange.deliver(session, None, NOW, drop_dir=drop) == 4
    assert exchange.deliver(session, None, NOW, drop_dir=drop) == 0
    files = sorted(p.name for p in drop.iterdir())
    first = records[0]
    assert f"{first.id}_1.json" in files
    assert f"{first.id}_2.json" in files
    assert len(files) == 4  # no temporary files left behind
    content = json.loads((drop / f"{first.id}_2.json").read_text(encoding="utf-8"))
    assert content["idempotency_key"] == f"{first.id}:2"
    assert content["record"]["CJCS"][0]["CSDM"] == "public_criticism"
    assert {d.delivered_via for d in session.scalars(select(PlatformDelivery))} == {"drop"}


def test_drop_into_an_unwritable_place_keeps_the_rows(session: Session, records: list, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert exchange.deliver(session, None, NOW, drop_dir=blocker / "sub") == 0
    assert len(_pending(session)) == 4
    assert exchange.failed_deliveries(session)[0].last_error


def test_the_scheduler_tick_delivers_when_configured(session: Session, records: list, tmp_path: Path,
                                                      make_app) -> None:  # noqa: ANN001
    from web.scheduler import _tick_job

    _tick_job(make_app())  # neither endpoint nor exchange directory configured: nothing happens
    assert len(_pending(session)) == 4
    drop = tmp_path / "exchange"
    _tick_job(make_app(PLATFORM_DROP_DIR=str(drop)))
    assert _pending(session) == []
    assert len(list(drop.glob("*.json"))) == 4


def test_two_deliverers_never_send_the_same_row(session: Session, db_engine) -> None:  # noqa: ANN001
    if db_engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (FOR UPDATE SKIP LOCKED)")
    made = _records(session, n=12)
    expected = {d.idempotency_key for d in session.scalars(select(PlatformDelivery))}
    assert len(expected) == 13
    counts: list[int] = []

    def worker(url: str) -> None:
        with Session(db_engine) as own:
            counts.append(exchange.deliver(own, url, NOW, timeout=5))

    with Receiver([]) as receiver:
        threads = [threading.Thread(target=worker, args=(receiver.url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(5):  # a worker stops early when the only due rows are locked or wait for a locked one
            if not _pending(session):
                break
            exchange.deliver(session, receiver.url, NOW, timeout=5)
    assert sorted(receiver.received) == sorted(expected)  # each key sent once: no row taken twice
    assert receiver.received.index(f"{made[0].id}:1") < receiver.received.index(f"{made[0].id}:2")


# --- the national platform: a second destination with its own rows, keys and log -----------------------------

def _rows(session: Session, target: str) -> list[PlatformDelivery]:
    session.expire_all()
    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.target == target)
                                .order_by(PlatformDelivery.id)))


def test_the_national_platform_gets_every_version_once_with_its_own_log(session: Session, records: list) -> None:
    keys = {d.idempotency_key for d in _rows(session, "provincial")}
    assert _rows(session, "national") == []  # nothing waits for a destination nobody delivers to
    with Receiver([]) as provincial:
        assert exchange.deliver(session, provincial.url, NOW, timeout=2) == 4
        # the national platform is down: its rows are created, fail and wait; the provincial ones are untouched
        assert exchange.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5, target="national") == 0
        national_rows = _rows(session, "national")
        assert {d.idempotency_key for d in national_rows} == keys
        assert [d.target for d in exchange.failed_deliveries(session)] == ["national"]
        assert exchange.failed_deliveries(session, target="provincial") == []
        first = records[0]
        assert [(d.target, d.record_version) for d in exchange.deliveries_of(session, first.id)] == [
            ("provincial", 1), ("provincial", 2), ("national", 1), ("national", 2)]

        with Receiver(["500"]) as national:
            later = NOW
            for _ in range(6):
                later += timedelta(hours=7)
                exchange.deliver(session, national.url, later, timeout=2, target="national")
            assert set(national.stored) == keys  # every version, each stored once
            assert all(count == 1 for count in national.store_count.values())
            assert national.stored[f"{first.id}:2"] == provincial.stored[f"{first.id}:2"]  # the same payload
            assert national.received.index(f"{first.id}:1") < national.received.index(f"{first.id}:2")

            # a later change: queued once, reaches each destination on its next run
            services.apply_measure(session, first, "cancel_awards", "云发改信用〔2026〕31号", None, None, later)
            session.commit()
            assert exchange.deliver(session, provincial.url, later, timeout=2) == 1
            assert exchange.deliver(session, national.url, later, timeout=2, target="national") == 1
            assert national.store_count[f"{first.id}:3"] == 1
        assert provincial.store_count[f"{first.id}:3"] == 1
    assert all(d.delivered_at is not None for d in _rows(session, "provincial") + _rows(session, "national"))
    assert sum(d.attempts for d in _rows(session, "provincial")) == 5  # the provincial log saw no failure


def test_the_scheduler_tick_delivers_to_each_configured_destination(session: Session, records: list,
                                                                    tmp_path: Path, make_app) -> None:  # noqa: ANN001
    from web.scheduler import _tick_job

    provincial, national = tmp_path / "provincial", tmp_path / "national"
    _tick_job(make_app(PLATFORM_DROP_DIR=str(provincial), NATIONAL_PLATFORM_DROP_DIR=str(national)))
    assert sorted(p.name for p in provincial.glob("*.json")) == sorted(p.name for p in national.glob("*.json"))
    assert len(list(national.glob("*.json"))) == 4
    assert _pending(session) == []
