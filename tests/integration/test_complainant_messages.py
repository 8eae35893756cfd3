"""The complainant is told at each milestone: an SMS to a mobile number (outbox, pluggable sender, retries,
give-up) and an email when they gave an address; both stop when they opt out on the tracking page."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.notify import sms
from engine.notify.jobs import deliver_sms
from engine.notify.models import EmailOutbox, SmsOutbox
from tests.processes.conftest import ComplaintRun


def _texts(session: Session, complaint_id: int) -> list[str]:
    return [row.body for row in session.scalars(
        select(SmsOutbox).where(SmsOutbox.complaint_id == complaint_id).order_by(SmsOutbox.id))]


def _mails(session: Session, to: str) -> list[tuple[str, str]]:
    return [(row.subject, row.body) for row in session.scalars(
        select(EmailOutbox).where(EmailOutbox.to_addr == to).order_by(EmailOutbox.id))]


def test_each_milestone_is_texted_and_mailed(session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    complaint = run.register(contact_email="liming@example.com", contact_phone="138-8800-1234")
    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"})
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "内部核实说明"})
    run.complete("order_rectification", "km-commerce", {"deadline": "2026-04-30", "requirements": "兑现资金"})
    code = complaint.tracking_code
    texts = _texts(session, complaint.id)
    assert texts == [f"【信用云南】您的投诉（查询码 {code}）办理进度：{label}。如不需要办理进度通知，可在信用云南网站“进度查询”页面关闭。"
                     for label in ("已收到投诉", "已受理", "已转交认定部门：昆明市商务局",
                                   "核实结论：经核实，投诉反映的情况属实", "已督促整改：整改期限：2026-04-30")]
    assert {row.phone for row in session.scalars(select(SmsOutbox))} == {"13888001234"}
    mails = _mails(session, "liming@example.com")
    assert [subject for subject, _ in mails] == [
        "【信用云南】投诉办理进度：已收到投诉", "【信用云南】投诉办理进度：已受理", "【信用云南】投诉办理进度：已转交认定部门",
        "【信用云南】投诉办理进度：核实结论", "【信用云南】投诉办理进度：已督促整改"]
    assert "整改期限：2026-04-30" in mails[-1][1]
    assert not any("内部核实说明" in text or "兑现资金" in text for text in texts + [b for _, b in mails])


def test_a_landline_gets_no_text_and_nothing_without_an_email(session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    complaint = run.register(contact_phone="0871-63123456")
    run.complete("screening", "intake", {"accepted": True})
    assert _texts(session, complaint.id) == []
    assert session.scalar(select(EmailOutbox.id).where(EmailOutbox.key.like(f"milestone:{complaint.id}:%"))) is None


def test_file_sender_writes_one_json_line_per_message(session: Session, official, tmp_path: Path) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    complaint = run.register()
    target = tmp_path / "sms" / "outbox.jsonl"
    assert deliver_sms(session, sms.FileSender(target)) == 1
    (line,) = target.read_text(encoding="utf-8").splitlines()
    sent = json.loads(line)
    assert sent["phone"] == "13888001234"
    assert sent["text"].startswith(f"【信用云南】您的投诉（查询码 {complaint.tracking_code}）")
    assert sent["id"].startswith(f"milestone:{complaint.id}:received:")
    assert deliver_sms(session, sms.FileSender(target)) == 0  # sent once
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1


class Gateway(BaseHTTPRequestHandler):
    """A local SMS gateway that refuses the first `failures` requests with 503."""

    failures = 0
    received: list = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.headers.get("Authorization"), self.headers.get("Idempotency-Key"), body))
        status = 503 if type(self).failures > 0 else 200
        type(self).failures -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


def test_http_sender_retries_after_an_outage_and_gives_up_in_the_end(session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    complaint = run.register()
    Gateway.failures, Gateway.received = 1, []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sender = sms.HttpSender(f"http://127.0.0.1:{server.server_port}/send", token="gw-token", timeout=5)
        now = run.now
        assert deliver_sms(session, sender, now=now) == 0  # 503: kept, tried again later
        row = session.scalar(select(SmsOutbox).where(SmsOutbox.complaint_id == complaint.id))
        assert (row.attempts, row.sent_at, row.last_error) == (1, None, "短信网关返回 503")
        assert deliver_sms(session, sender, now=now + timedelta(seconds=30)) == 0  # not due yet
        assert deliver_sms(session, sender, now=now + timedelta(minutes=3)) == 1
        session.refresh(row)
        assert row.sent_at is not None
        assert row.attempts == 2
        auth, key, body = Gateway.received[-1]
        assert (auth, key, body["phone"]) == ("Bearer gw-token", row.key, "13888001234")

        Gateway.failures = 100  # the gateway stays down: the message is given up after MAX_ATTEMPTS
        run.complete("screening", "intake", {"accepted": True})
        moment = run.now
        for _ in range(3 * sms.MAX_ATTEMPTS):  # two messages wait; each tick stops at the first failure
            moment += timedelta(hours=7)
            deliver_sms(session, sender, now=moment, batch=1)
        failed = session.scalars(select(SmsOutbox).where(SmsOutbox.failed_at.is_not(None))).all()
        assert failed
        assert {r.attempts for r in failed} == {sms.MAX_ATTEMPTS}
        assert all(r.sent_at is None for r in failed)
    finally:
        server.shutdown()
        server.server_close()


def test_opting_out_on_the_tracking_page_stops_messages(client, session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    complaint = run.register(contact_email="liming@example.com")
    client.post("/public/track", data={"tracking_code": complaint.tracking_code, "phone_last4": "1234"})
    page = client.get("/public/track").get_data(as_text=True)
    assert "向 138******** 发送短信并向您的邮箱发送邮件" in page
    assert client.post("/public/track/notices", data={"wanted": "0"}).status_code == 303
    assert "关闭办理进度的短信和邮件通知" in client.get("/public/track").get_data(as_text=True)
    session.expire_all()
    run.complete("screening", "intake", {"accepted": True})
    assert len(_texts(session, complaint.id)) == 1  # the receipt only
    assert len(_mails(session, "liming@example.com")) == 1
    client.post("/public/track/notices", data={"wanted": "1"})
    session.expire_all()
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "属实"})
    assert _texts(session, complaint.id)[-1].endswith("核实结论：经核实，投诉反映的情况属实。如不需要办理进度通知，可在信用云南网站“进度查询”页面关闭。")
    kinds = [e.kind for e in run.events("notices_changed")]
    assert kinds == ["notices_changed", "notices_changed"]
    assert client.post("/public/track/forget").status_code == 303
    assert client.post("/public/track/notices", data={"wanted": "0"}).status_code == 403


def test_scheduler_tick_sends_through_the_configured_sender(app, session: Session, official, tmp_path: Path,  # noqa: ANN001
                                                            monkeypatch) -> None:  # noqa: ANN001
    from apscheduler.schedulers.background import BackgroundScheduler

    from web.scheduler import add_jobs, run_job

    run = ComplaintRun(session, official, save_restore=False)
    run.register()
    target = tmp_path / "tick.jsonl"
    assert "sms" not in add_jobs(BackgroundScheduler(timezone="UTC"), app)  # no sender: messages wait
    monkeypatch.setitem(app.config, "SMS_SENDER", "file")
    monkeypatch.setitem(app.config, "SMS_FILE", str(target))
    assert "sms" in add_jobs(BackgroundScheduler(timezone="UTC"), app)
    run_job(app, "sms")
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1


def test_a_bad_email_is_a_chinese_field_error(api) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    response = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "contact_email": "not-an-address"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["contact_email"].startswith("请填写有效的电子邮箱")
