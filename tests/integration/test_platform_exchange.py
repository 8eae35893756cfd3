"""Breach records reach the credit platform through the outbox: a real local HTTP receiver that is down, slow,
failing, cut off or trickling before it recovers stores every record version exactly once; delivery keys are UUIDs,
a 409 counts only when the receiver proves it holds the same content, each request has a total deadline, times
are the real moments, and delivery runs in its own scheduler job, never in the timer tick; the file-drop exchange
too."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.credit import exchange, services
from engine.credit import jobs as credit_jobs
from engine.credit.models import AppliedMeasure, BreachRecord, PlatformDelivery
from engine.db import as_utc
from engine.org.models import Department

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
RESPONDENTS = ["km-guandu-commerce", "qj-qilin-commerce", "hh-mengzi-industry", "dl-binchuan-agri",
               "km-chenggong-housing", "km-investment"]


class Receiver:
    """A platform endpoint that follows the exchange's contract: it stores by Idempotency-Key, answers 200 with a
    JSON object (echoing the digest), and 409 with the digest of what it holds for a key it has. The first
    requests can be answered badly on purpose, one behaviour each (`script`):

    "503"/"500" an error; "slow" store, then answer after the sender gave up; "cut" store, then close the
    connection right after the status line; "trickle" store, then send the answer one byte at a time for ever;
    "conflict" 409 without a digest (holds something else under the key); "hold" answer once `release` is set.
    """

    def __init__(self, script: list[str] | None = None) -> None:
        self.script = list(script or [])
        self.received: list[str] = []
        self.behaviours: list[tuple[str, str]] = []
        self.stored: dict[str, dict] = {}
        self.digests: dict[str, str] = {}
        self.store_count: dict[str, int] = {}
        self.bad_digest_headers = 0
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict, digest: str | None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if digest:
                    self.send_header("Content-Digest", f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                digest = hashlib.sha256(raw).hexdigest()
                key = self.headers["Idempotency-Key"]
                sent = self.headers.get("Content-Digest", "")
                with receiver.lock:
                    if sent != f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:":
                        receiver.bad_digest_headers += 1
                    receiver.received.append(key)
                    behaviour = receiver.script.pop(0) if receiver.script else "ok"
                    receiver.behaviours.append((key, behaviour))
                try:
                    if behaviour in ("503", "500"):
                        self.send_response(int(behaviour))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if behaviour == "conflict":
                        self._answer(409, {"error": "key exists"}, None)
                        return
                    with receiver.lock:
                        known = receiver.digests.get(key)
                        if known is None:  # dedupe: a key is stored once
                            receiver.stored[key] = json.loads(raw)
                            receiver.digests[key] = digest
                            receiver.store_count[key] = receiver.store_count.get(key, 0) + 1
                    if behaviour == "slow":
                        time.sleep(1.0)  # the sender gave up already; stored all the same (response lost)
                    elif behaviour == "cut":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        self.close_connection = True
                        return
                    elif behaviour == "trickle":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for _ in range(300):  # a minute at most: long past any deadline of these tests
                            self.wfile.write(b"X")
                            self.wfile.flush()
                            time.sleep(0.2)
                        return
                    elif behaviour == "hold":
                        receiver.release.wait(30)
                    if known is None:
                        self._answer(200, {"stored": key, "content_sha256": digest}, None)
                    else:
                        self._answer(409, {"error": "already stored"}, known)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/credit/records"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _dept(session: Session, code: str) -> Department:
    return session.scalar(select(Department).where(Department.code == code))


def _records(session: Session, n: int = 3, now: datetime = NOW) -> list[BreachRecord]:
    determining = _dept(session, "km-commerce")
    made = []
    for i in range(n):
        respondent = _dept(session, RESPONDENTS[i % len(RESPONDENTS)])
        made.append(services.create_record(
            session, now=now, source="platform_migration", respondent_id=respondent.id,
            respondent_name=respondent.name, respondent_uscc=respondent.uscc,
            respondent_division=respondent.division_code, respondent_prefecture=respondent.prefecture_code,
            determining_department_id=determining.id, determining_name=determining.name,
            determining_uscc=determining.uscc, document_number=f"昆商认〔2026〕{i}号", basis="协议第五条",
            facts="拒不兑现", domain="investment_promotion", severity="ordinary"))
    services.apply_measure(session, made[0], "public_criticism", "云发改信用〔2026〕30号", None, None, now)
    session.commit()
    return made


@pytest.fixture
def records(session: Session) -> list[BreachRecord]:
    return _records(session)


def _pending(session: Session) -> list[PlatformDelivery]:
    session.expire_all()
    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.delivered_at.is_(None))))


def key(session: Session, record: BreachRecord, version: int, target: str = "provincial") -> str:
    return session.scalar(select(PlatformDelivery.idempotency_key).where(
        PlatformDelivery.record_id == record.id, PlatformDelivery.record_version == version,
        PlatformDelivery.target == target))


def row(session: Session, record: BreachRecord, version: int, target: str = "provincial") -> PlatformDelivery:
    session.expire_all()
    return session.scalar(select(PlatformDelivery).where(
        PlatformDelivery.record_id == record.id, PlatformDelivery.record_version == version,
        PlatformDelivery.target == target))


def test_keys_and_record_numbers_are_uuids(session: Session, records: list[BreachRecord]) -> None:
    rows = session.scalars(select(PlatformDelivery)).all()
    assert sorted((r.record_id, r.record_version) for r in rows) == sorted(
        [(records[0].id, 1), (records[0].id, 2), (records[1].id, 1), (records[2].id, 1)])
    keys = {uuid.UUID(r.idempotency_key) for r in rows}  # every key parses as a UUID ...
    assert len(keys) == 4  # ... and none repeats, not even within one record
    numbers = {uuid.UUID(r.number) for r in records} | {uuid.UUID(m.number) for m in records[0].measures}
    assert len(numbers) == 4
    assert keys.isdisjoint(numbers)


def test_outage_slowness_and_errors_delay_but_never_duplicate(session: Session, records: list) -> None:
    all_keys = {d.idempotency_key for d in session.scalars(select(PlatformDelivery))}
    first = records[0]
    first_1, first_2 = key(session, first, 1), key(session, first, 2)

    # the platform is down altogether: nothing delivered, nothing lost
    assert credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5) == 0
    [failed] = [d for d in _pending(session) if d.attempts]
    assert failed.idempotency_key == first_1
    assert failed.last_error
    assert len(_pending(session)) == 4

    with Receiver(["503", "slow", "500"]) as receiver:
        now = NOW
        credit_jobs.deliver(session, receiver.url, now, timeout=0.3)
        assert first_1 not in receiver.received  # backing off after the refused connection
        assert first_2 not in receiver.received  # and its next version waits for it
        for _ in range(20):
            now += timedelta(hours=7)  # past the longest backoff
            credit_jobs.deliver(session, receiver.url, now, timeout=0.3)
            if not _pending(session):
                break
        time.sleep(1.2)  # let the slow request finish

    assert _pending(session) == []
    assert receiver.bad_digest_headers == 0  # every request's Content-Digest matched its body
    assert [b for _k, b in receiver.behaviours[:3]] == ["503", "slow", "500"]
    assert set(receiver.stored) == all_keys  # every version stored ...
    assert all(count == 1 for count in receiver.store_count.values())  # ... exactly once
    assert set(receiver.received) == all_keys
    [slow_key] = [k for k, b in receiver.behaviours if b == "slow"]
    assert receiver.received.count(slow_key) >= 2  # the response was lost, so it was sent again: stored once
    assert receiver.store_count[slow_key] == 1
    for sent_key, behaviour in receiver.behaviours[:3]:
        delivery = session.scalar(select(PlatformDelivery).where(PlatformDelivery.idempotency_key == sent_key))
        assert delivery.attempts >= 2, (sent_key, behaviour)
        assert delivery.delivered_at is not None
    delivery = row(session, first, 1)
    assert delivery.delivered_via == "http"
    assert delivery.last_error is None
    assert delivery.content_digest == receiver.digests[first_1]
    stored = receiver.stored[first_2]
    assert (stored["JLBH"], stored["BBH"], stored["BGLX"]) == (first.number, 2, "实施惩戒措施")
    assert stored["SXZTMC"] == "昆明市官渡区商务局"
    assert [m["CSMC"] for m in stored["CJCS"]] == ["公开通报批评"]
    assert receiver.stored[first_1]["CJCS"] == []  # version 1 as it was: no measure yet
    # order is kept: version 1 of a record reaches the platform before version 2
    assert receiver.received.index(first_1) < receiver.received.index(first_2)


def test_a_record_delivered_is_not_sent_again(session: Session, records: list) -> None:
    with Receiver() as receiver:
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=2) == 4
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(days=1), timeout=2) == 0
    assert sorted(receiver.received) == sorted(receiver.stored)


def test_a_409_counts_only_when_the_receiver_confirms_the_same_content(session: Session, records: list) -> None:
    first_1 = key(session, records[0], 1)
    with Receiver(["conflict"]) as receiver:
        # the platform holds something under this key and does not say what: not delivered
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=2) == 0
        failed = row(session, records[0], 1)
        assert failed.delivered_at is None
        assert "应答没有给出内容摘要，无法确认内容相同（HTTP 409）" in failed.last_error
        # the platform holds other content under this key (its digest differs): not delivered either
        receiver.digests[first_1] = hashlib.sha256(b"another case's record").hexdigest()
        receiver.stored[first_1] = {"another": "record"}
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(hours=7), timeout=2) == 0
        assert "内容摘要与本次发送的内容不同（HTTP 409）" in row(session, records[0], 1).last_error
        # it holds exactly our content (stored earlier, the answer was lost): delivered
        receiver.digests[first_1] = failed.content_digest
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(hours=14), timeout=2) == 4
    assert row(session, records[0], 1).delivered_at is not None
    assert [b for k, b in receiver.behaviours if k == first_1] == ["conflict", "ok", "ok"]


def test_new_records_after_a_restore_never_reuse_the_keys_the_platform_holds(session: Session) -> None:
    """A restore brings the database back to before some records were made (and delivered); those made after it
    may get the same integer ids (SQLite reuses them), but numbers and keys are new: nothing is taken for
    delivered that the platform does not hold, and the platform keeps each case's record apart."""
    before = _records(session, n=2)
    with Receiver() as receiver:
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=2) == 3
        lost = {(r.id, r.number) for r in before}
        ids = [r.id for r in before]
        # the restore: the records, their measures and their outbox rows are gone from the database
        session.execute(delete(PlatformDelivery).where(PlatformDelivery.record_id.in_(ids)))
        session.execute(delete(AppliedMeasure).where(AppliedMeasure.record_id.in_(ids)))
        session.execute(delete(BreachRecord).where(BreachRecord.id.in_(ids)))
        session.commit()
        after = _records(session, n=2, now=NOW + timedelta(days=1))
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(days=1), timeout=2) == 3
    assert {n for _i, n in lost}.isdisjoint({r.number for r in after})
    assert all(b == "ok" for _k, b in receiver.behaviours)
    assert len(receiver.stored) == 6  # three versions of the lost records, three of the new ones: none overwritten
    assert all(count == 1 for count in receiver.store_count.values())
    assert len({body["JLBH"] for body in receiver.stored.values()}) == 4
    if session.get_bind().dialect.name == "sqlite":
        assert [r.id for r in after] == ids  # the ids did repeat: only the numbers and keys kept them apart


def test_an_answer_cut_off_after_its_status_line_is_not_delivered(session: Session, records: list) -> None:
    with Receiver(["cut"]) as receiver:
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=2) == 0
        cut = row(session, records[0], 1)
        assert cut.delivered_at is None
        assert "平台应答不完整或不是 JSON 对象" in cut.last_error or "RemoteDisconnected" in cut.last_error
        body = cut.body
        # the receiver had stored it: the same body goes again under the same key and is confirmed by 409
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(hours=7), timeout=2) == 4
    again = row(session, records[0], 1)
    assert (again.delivered_at is not None, again.body) == (True, body)
    assert receiver.store_count[again.idempotency_key] == 1


def test_a_trickling_receiver_is_cut_off_at_the_total_deadline(session: Session, records: list) -> None:
    with Receiver(["trickle"]) as receiver:
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=0.5) == 0
    slow = row(session, records[0], 1)
    assert slow.delivered_at is None
    assert slow.last_error == "超过总时限 0.5 秒，平台未完整应答"
    assert slow.body is not None  # the platform may have stored it: the body is kept for the next attempt


def test_delivered_at_and_the_backoff_are_the_real_moments(session: Session, records: list) -> None:
    with Receiver(["hold"]) as receiver:
        threading.Timer(0.05, receiver.release.set).start()  # the answer comes a moment after the request
        assert credit_jobs.deliver(session, receiver.url, NOW, timeout=5, batch=1) == 1
        delivered = as_utc(row(session, records[0], 1).delivered_at)
        assert delivered > NOW  # not the moment the run started
    assert credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5) == 0
    [failed] = exchange.failed_deliveries(session)
    assert as_utc(failed.next_attempt_at) > NOW + timedelta(minutes=2)  # 2 minutes after it failed, not the start


def test_operator_retries_a_failed_delivery_at_once(session: Session, records: list) -> None:
    assert credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5) == 0
    [failed] = exchange.failed_deliveries(session)
    exchange.retry_now(session, failed.id, NOW + timedelta(seconds=5))
    session.commit()
    with Receiver() as receiver:
        assert credit_jobs.deliver(session, receiver.url, NOW + timedelta(seconds=5), timeout=2) == 4
    assert exchange.failed_deliveries(session) == []


def test_file_drop_writes_each_version_once_atomically(session: Session, records: list, tmp_path: Path) -> None:
    drop = tmp_path / "exchange"
    assert credit_jobs.deliver(session, None, NOW, drop_dir=drop) == 4
    assert credit_jobs.deliver(session, None, NOW, drop_dir=drop) == 0
    files = sorted(p.name for p in drop.iterdir())
    first = records[0]
    second_version = row(session, first, 2)
    assert f"{first.number}_1_{key(session, first, 1)}.json" in files
    assert f"{first.number}_2_{second_version.idempotency_key}.json" in files
    assert len(files) == 4  # no temporary files left behind
    content = json.loads((drop / f"{first.number}_2_{second_version.idempotency_key}.json").read_text(encoding="utf-8"))
    assert content["idempotency_key"] == second_version.idempotency_key
    assert content["content_sha256"] == hashlib.sha256(second_version.body.encode()).hexdigest()
    assert content["record"] == json.loads(second_version.body)
    assert content["record"]["CJCS"][0]["CSDM"] == "公开通报批评"
    assert {d.delivered_via for d in session.scalars(select(PlatformDelivery))} == {"drop"}


def test_drop_into_an_unwritable_place_keeps_the_rows(session: Session, records: list, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert credit_jobs.deliver(session, None, NOW, drop_dir=blocker / "sub") == 0
    assert len(_pending(session)) == 4
    failed = exchange.failed_deliveries(session)[0]
    assert failed.last_error
    assert failed.body is None  # not written anywhere: the next attempt maps the version again


def test_the_delivery_job_delivers_when_configured_and_the_timer_tick_never_does(
        session: Session, records: list, tmp_path: Path, make_app) -> None:  # noqa: ANN001
    from web.scheduler import run_job

    run_job(make_app(), "platform-provincial")  # neither endpoint nor exchange directory configured: nothing happens
    assert len(_pending(session)) == 4
    drop = tmp_path / "exchange"
    app = make_app(PLATFORM_DROP_DIR=str(drop))
    run_job(app, "timer-tick")
    assert len(_pending(session)) == 4  # the timer tick delivers nothing
    run_job(app, "platform-provincial")
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
            counts.append(credit_jobs.deliver(own, url, NOW, timeout=5))

    with Receiver() as receiver:
        threads = [threading.Thread(target=worker, args=(receiver.url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(5):  # a worker stops early when the only due rows are locked or wait for a locked one
            if not _pending(session):
                break
            credit_jobs.deliver(session, receiver.url, NOW, timeout=5)
    assert sorted(receiver.received) == sorted(expected)  # each key sent once: no row taken twice
    assert receiver.received.index(key(session, made[0], 1)) < receiver.received.index(key(session, made[0], 2))


# --- the national platform: a second destination with its own rows, keys and log -----------------------------

def _rows(session: Session, target: str) -> list[PlatformDelivery]:
    session.expire_all()
    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.target == target)
                                .order_by(PlatformDelivery.id)))


def test_the_national_platform_gets_every_version_once_with_its_own_log(session: Session, records: list) -> None:
    keys = {d.idempotency_key for d in _rows(session, "provincial")}
    assert _rows(session, "national") == []  # nothing waits for a destination nobody delivers to
    first = records[0]
    with Receiver() as provincial:
        assert credit_jobs.deliver(session, provincial.url, NOW, timeout=2) == 4
        # the national platform is down: its rows are created, fail and wait; the provincial ones are untouched
        assert credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5, target="national") == 0
        national_rows = _rows(session, "national")
        assert {d.idempotency_key for d in national_rows} == keys
        assert [d.target for d in exchange.failed_deliveries(session)] == ["national"]
        assert exchange.failed_deliveries(session, target="provincial") == []
        assert [(d.target, d.record_version) for d in exchange.deliveries_of(session, first.id)] == [
            ("provincial", 1), ("provincial", 2), ("national", 1), ("national", 2)]

        with Receiver(["500"]) as national:
            later = NOW
            for _ in range(6):
                later += timedelta(hours=7)
                credit_jobs.deliver(session, national.url, later, timeout=2, target="national")
            assert set(national.stored) == keys  # every version, each stored once
            assert all(count == 1 for count in national.store_count.values())
            first_2 = key(session, first, 2)
            assert national.stored[first_2] == provincial.stored[first_2]  # the same payload (same profile)
            assert national.received.index(key(session, first, 1)) < national.received.index(first_2)

            # a later change: queued once, reaches each destination on its next run
            services.apply_measure(session, first, "cancel_awards", "云发改信用〔2026〕31号", None, None, later)
            session.commit()
            assert credit_jobs.deliver(session, provincial.url, later, timeout=2) == 1
            assert credit_jobs.deliver(session, national.url, later, timeout=2, target="national") == 1
            assert national.store_count[key(session, first, 3)] == 1
        assert provincial.store_count[key(session, first, 3)] == 1
    assert all(d.delivered_at is not None for d in _rows(session, "provincial") + _rows(session, "national"))
    assert sum(d.attempts for d in _rows(session, "provincial")) == 5  # the provincial log saw no failure


def test_each_configured_destination_has_its_own_delivery_job(session: Session, records: list, tmp_path: Path,
                                                             make_app) -> None:  # noqa: ANN001
    from web.scheduler import run_job

    provincial, national = tmp_path / "provincial", tmp_path / "national"
    app = make_app(PLATFORM_DROP_DIR=str(provincial), NATIONAL_PLATFORM_DROP_DIR=str(national))
    run_job(app, "platform-national")
    assert len(list(national.glob("*.json"))) == 4
    assert not provincial.exists()  # the national job delivered the national rows only
    run_job(app, "platform-provincial")
    assert sorted(p.name for p in provincial.glob("*.json")) == sorted(p.name for p in national.glob("*.json"))
    assert _pending(session) == []
