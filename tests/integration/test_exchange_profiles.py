"""Destination profiles through the browser, the API and the CLI: each platform gets a record in its own field
names and codes (defaults: Chinese labels, GB/T 2260 divisions), an administrator edits a profile (errors named per
input, nothing stored; audited; reset), a version that cannot be mapped is held with its reason on the deliveries
page and goes out once the profile or the data is fixed, and any event — withdrawn, corrected — goes through the
operation code. The scheduler runs delivery as jobs of its own: a platform that does not answer never holds up the
timer tick, and a failing job never stops another."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.credit import exchange, services
from engine.credit.models import BreachRecord, PlatformDelivery
from engine.org.models import Department
from tests.integration.test_platform_exchange import Receiver

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


def _dept(session: Session, code: str) -> Department:
    return session.scalar(select(Department).where(Department.code == code))


def _record(session: Session, respondent_code: str = "km-guandu-commerce", severity: str = "ordinary",
            with_code: bool = True) -> BreachRecord:
    respondent, determining = _dept(session, respondent_code), _dept(session, "km-commerce")
    record = services.create_record(
        session, now=NOW, source="complaint", respondent_id=respondent.id, respondent_name=respondent.name,
        respondent_uscc=respondent.uscc if with_code else None, respondent_division=respondent.division_code,
        respondent_prefecture=respondent.prefecture_code, determining_department_id=determining.id,
        determining_name=determining.name, determining_uscc=determining.uscc, document_number="昆商认〔2026〕7号",
        basis="协议第五条", facts="拒不兑现", domain="investment_promotion", severity=severity)
    session.commit()
    return record


def _files(directory: Path) -> list[dict]:
    """The records dropped into an exchange directory, oldest version first."""
    found = [json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")]
    return sorted((f["record"] for f in found), key=lambda r: (r.get("JLBH"), r.get("BBH") or 0))


def _deliver(make_app, **config: object) -> str:  # noqa: ANN001
    result = make_app(**config).test_cli_runner().invoke(args=["exchange", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output


def test_each_destination_gets_the_record_in_its_own_profile(api, client, session: Session, make_app,  # noqa: ANN001
                                                              tmp_path: Path) -> None:
    record = _record(session, severity="serious")
    measure = services.apply_measure(session, record, "public_criticism", "云发改信用〔2026〕30号", None,
                                     None, NOW)
    services.end_measure(session, measure, "通报期满", None, NOW, document_number="云发改信用〔2026〕40号")
    session.commit()
    saved = client.put("/api/v1/exchange-profiles/national", headers=api("sysadmin").headers, json={
        "fields": {"severity": "SXCDDM", "facts": "", "event": "CZLX"},
        "measure_fields": {"department_name": "SSDW"},
        "codes": {"severity": {"minor": "1", "ordinary": "2", "serious": "3"},
                  "domain": {"investment_promotion": "ZSYZ"}, "event": {"created": "I", "measure_applied": "A",
                                                                       "measure_ended": "E"}}})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["revision"] == 1
    assert saved.get_json()["fields"]["severity"] == "SXCDDM"

    provincial, national = tmp_path / "provincial", tmp_path / "national"
    output = _deliver(make_app, PLATFORM_DROP_DIR=str(provincial), NATIONAL_PLATFORM_DROP_DIR=str(national))
    assert "省信用信息共享平台：送达 3 个版本，暂停推送 0 个" in output
    assert "全国信用信息共享平台：送达 3 个版本" in output

    first, *_rest, last = _files(provincial)
    assert (first["JLBH"], first["BBH"], first["BGLX"]) == (record.number, 1, "新建")
    assert (last["BBH"], last["BGLX"]) == (3, "惩戒措施结束")
    assert (last["SXCD"], last["SXLY"], last["ZGZT"], last["JLZT"], last["SJLY"]) == (
        "严重", "招商引资", "未整改", "有效（公示中）", "政府违约失信投诉处置")  # Chinese codes, no English ones
    assert (last["SXZTTYSHXYDM"], last["RDBMTYSHXYDM"]) == (record.respondent_uscc, record.determining_uscc)
    assert last["SXZTXZQHDM"] == "530111"  # GB/T 2260
    [criticism] = last["CJCS"]
    assert (criticism["CSBH"], criticism["CSDM"], criticism["CSCJ"]) == (measure.number, "公开通报批评", "地方层面")
    ndrc = _dept(session, "ndrc")
    assert (criticism["SSBM"], criticism["SSBMTYSHXYDM"]) == (ndrc.name, ndrc.uscc)  # a department, with its code
    assert (criticism["JSYY"], criticism["JSWH"]) == ("通报期满", "云发改信用〔2026〕40号")  # each fact its own field

    theirs = _files(national)[-1]
    assert (theirs["JLBH"], theirs["CZLX"], theirs["SXCDDM"], theirs["SXLY"]) == (record.number, "E", "3", "ZSYZ")
    assert {"SXCD", "SXSS", "BGLX"}.isdisjoint(theirs)
    assert theirs["CJCS"][0]["SSDW"] == ndrc.name
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "exchange_profile_saved"))
    assert (audit.object_id, audit.after["revision"]) == ("national", 1)
    assert audit.actor_label.startswith("sysadmin")


def test_a_version_that_cannot_be_mapped_is_held_with_its_reason_until_fixed(
        api, client, login, session: Session, make_app, tmp_path: Path) -> None:  # noqa: ANN001
    drop = tmp_path / "provincial"
    code = _dept(session, "km-chenggong-housing").uscc
    session.execute(update(Department).where(Department.code == "km-chenggong-housing").values(uscc=None))
    session.commit()
    legacy = _record(session, "km-chenggong-housing", with_code=False)  # made before the codes were required
    fine = _record(session)
    services.apply_measure(session, legacy, "cancel_awards", "云发改信用〔2026〕33号", None, None, NOW)
    session.commit()

    output = _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    assert "送达 1 个版本，暂停推送 1 个" in output  # the fine record went; the legacy one's later version waits
    assert [r["JLBH"] for r in _files(drop)] == [fine.number]
    held = client.get("/api/v1/platform-deliveries?state=held", headers=api("ndrc").headers).get_json()
    assert [(d["record_id"], d["record_version"]) for d in held] == [(legacy.id, 1)]
    assert "「失信主体统一社会信用代码」为空" in held[0]["held_reason"]
    login("ndrc")
    page = client.get("/credit/deliveries").get_data(as_text=True)
    assert "暂停推送的记录版本" in page
    assert "无法按「省信用信息共享平台」的平台对照转换，暂不推送：「失信主体统一社会信用代码」为空" in page
    assert "重新检查" in page
    record_page = client.get(f"/credit/records/{legacy.id}").get_data(as_text=True)
    assert "暂停推送：" in record_page

    # the administrator adds the department's code: the next run takes it from the organisation data and sends
    login("sysadmin")
    dept = _dept(session, "km-chenggong-housing")
    fixed = client.post("/admin/departments/km-chenggong-housing", data={
        "name": dept.name, "level": dept.level, "division_code": dept.division_code,
        "prefecture_code": dept.prefecture_code, "superior": "km-gov", "uscc": code, "is_active": "true"})
    assert fixed.status_code == 303
    assert "送达 2 个版本，暂停推送 0 个" in _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    sent = [r for r in _files(drop) if r["JLBH"] == legacy.number]
    assert [(r["BBH"], r["SXZTTYSHXYDM"]) for r in sent] == [(1, code), (2, code)]

    # a code the stored profile has no counterpart for: held, named on the profile page, sent once mapped
    client.put("/api/v1/exchange-profiles/provincial", headers=api("sysadmin").headers,
               json={"codes": {"severity": {"serious": "3"}}})
    made = client.put("/api/v1/measure-types/credit_warning", headers=api("ndrc").headers,
                      json={"name": "信用风险提示", "level": "local"})
    assert made.status_code == 200
    services.apply_measure(session, services.get_record(session, fine.id), "credit_warning",
                           "云发改信用〔2026〕34号", None, None, NOW)
    session.commit()
    assert "暂停推送 1 个" in _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    page = client.get("/credit/deliveries").get_data(as_text=True)
    assert "惩戒措施「credit_warning」（信用风险提示）在本平台的代码对照中没有对应代码" in page
    profile_page = client.get("/credit/exchange-profiles/provincial").get_data(as_text=True)
    assert "以下代码尚未对照" in profile_page
    assert "信用风险提示（credit_warning）" in profile_page
    saved = client.post("/credit/exchange-profiles/provincial", data={"codes.measure_code.credit_warning": "XYTS"})
    assert saved.status_code == 303
    assert "送达 1 个版本，暂停推送 0 个" in _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    newest = [r for r in _files(drop) if r["JLBH"] == fine.number][-1]
    assert [m["CSDM"] for m in newest["CJCS"]] == ["XYTS"]


def test_withdrawn_and_corrected_go_through_the_operation_code(api, client, session: Session, make_app,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    record = _record(session)
    drop = tmp_path / "provincial"
    _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    for event in ("corrected", "withdrawn"):  # what the record lifecycle queues after a delivered version
        record.version += 1
        exchange.queue(session, record, event, NOW)
    session.commit()
    _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    assert [(r["BBH"], r["BGLX"]) for r in _files(drop)] == [(1, "新建"), (2, "更正"), (3, "撤回")]

    client.put("/api/v1/exchange-profiles/provincial", headers=api("sysadmin").headers, json={
        "fields": {"event": "CZLX"}, "codes": {"event": {"withdrawn": "D", "corrected": "U2"}}})
    record.version += 1
    exchange.queue(session, record, "withdrawn", NOW)
    record.version += 1
    exchange.queue(session, record, "suspended", NOW)  # an event no code list knows yet: held, saying which
    session.commit()
    output = _deliver(make_app, PLATFORM_DROP_DIR=str(drop))
    assert "送达 1 个版本，暂停推送 1 个" in output
    assert _files(drop)[-1]["CZLX"] == "D"
    [held] = exchange.held_deliveries(session)
    assert "变更类型（操作代码）「suspended」在本平台的代码对照中没有对应代码" in held.held_reason


def test_the_profile_page_names_each_error_and_stores_nothing_until_valid(client, login, session: Session,
                                                                          api) -> None:  # noqa: ANN001
    login("km-commerce")
    assert client.get("/credit/exchange-profiles").status_code == 403
    assert client.post("/credit/exchange-profiles/provincial", data={}).status_code == 403
    login("sysadmin")
    listing = client.get("/credit/exchange-profiles").get_data(as_text=True)
    assert listing.count("默认对照") >= 2
    _record(session)
    page = client.get("/credit/exchange-profiles/provincial").get_data(as_text=True)
    assert 'name="fields.respondent_uscc" value="SXZTTYSHXYDM"' in page
    assert 'name="codes.severity.serious" value="严重"' in page
    assert "可以发送。" in page  # the newest version maps under the defaults
    assert client.get("/credit/exchange-profiles/elsewhere").status_code == 404

    refused = client.post("/credit/exchange-profiles/provincial", data={
        "fields.respondent_uscc": "", "fields.facts": "1SXSS", "fields.basis": "SXCD",
        "codes.severity.minor": "一般", "codes.severity.serious": "严\x1f重"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    for message in ("「失信主体统一社会信用代码」是平台必需的字段，请填写字段名", "字段名以英文字母开头",
                    "字段名「SXCD」与「认定依据」重复", "平台代码「一般」相同：一个平台代码只能对应一个值",
                    "不能含控制字符"):
        assert message in body, message
    assert 'value="1SXSS"' in body  # what was typed stays in the form
    assert api("sysadmin").get("/api/v1/exchange-profiles/provincial").get_json()["revision"] == 0
    api_refused = client.put("/api/v1/exchange-profiles/provincial", headers=api("ndrc").headers,
                             json={"codes": {"colour": {"red": "1"}, "severity": {"mild": "1"}}})
    assert api_refused.status_code == 422
    assert api_refused.get_json()["errors"] == {"codes.colour": "没有代码表「colour」",
                                                "codes.severity.mild": "失信程度中没有代码「mild」"}

    assert client.post("/credit/exchange-profiles/provincial", data={"fields.facts": "SXSSMS"}).status_code == 303
    page = client.get("/credit/exchange-profiles/provincial").get_data(as_text=True)
    assert "第 1 版" in page
    assert '"SXSSMS"' in page  # the sample below the form uses the new name
    assert client.post("/credit/exchange-profiles/provincial/reset").status_code == 303
    assert api("sysadmin").get("/api/v1/exchange-profiles/provincial").get_json()["fields"]["facts"] == "SXSS"
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "exchange_profile")
                              .order_by(AuditEvent.id)).all()
    assert actions == ["exchange_profile_saved", "exchange_profile_reset"]


def test_the_cli_prints_loads_and_resets_a_profile(app, session: Session, tmp_path: Path,
                                                   bundled_model_ids) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["exchange", "profile", "national"])
    assert shown.exit_code == 0, shown.output
    profile = json.loads(shown.output)
    assert profile["fields"]["number"] == "JLBH"
    assert profile["codes"]["domain"]["investment_promotion"] == "招商引资"
    profile["codes"]["domain"]["investment_promotion"] = "03"
    good = tmp_path / "national.json"
    good.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    loaded = runner.invoke(args=["exchange", "load-profile", "national", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert "第 1 版" in loaded.output
    assert json.loads(runner.invoke(args=["exchange", "profile", "national"]).output)["codes"]["domain"][
        "investment_promotion"] == "03"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fields": {"number": ""}}), encoding="utf-8")
    refused = runner.invoke(args=["exchange", "load-profile", "national", str(bad)])
    assert refused.exit_code == 2
    assert "fields.number: 「记录编号」是平台必需的字段，请填写字段名" in refused.output
    assert runner.invoke(args=["exchange", "reset-profile", "national"]).exit_code == 0
    assert json.loads(runner.invoke(args=["exchange", "profile", "national"]).output)["codes"]["domain"][
        "investment_promotion"] == "招商引资"
    unconfigured = runner.invoke(args=["exchange", "deliver"])
    assert unconfigured.exit_code == 1
    assert "未配置推送地址或交换目录" in unconfigured.output


# --- the scheduler: delivery in jobs of its own ------------------------------------------------------------------

def test_each_concern_is_a_job_of_its_own(make_app, tmp_path: Path, bundled_model_ids) -> None:  # noqa: ANN001
    from web.scheduler import start_in_process

    app = make_app(PLATFORM_DROP_DIR=str(tmp_path), NATIONAL_PLATFORM_ENDPOINT="http://127.0.0.1:9/x",
                   MAIL_ENABLED=True, SCHEDULER_INTERVAL_SECONDS=3600)
    scheduler = start_in_process(app)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"timer-tick", "audit-seal", "mail",
                                                            "platform-provincial", "platform-national"}
        assert all(job.max_instances == 1 for job in scheduler.get_jobs())
    finally:
        scheduler.shutdown(wait=False)
    bare = start_in_process(make_app(SCHEDULER_INTERVAL_SECONDS=3600))
    try:
        # nothing configured: the timers and the audit sealer only
        assert sorted(job.id for job in bare.get_jobs()) == ["audit-seal", "timer-tick"]
    finally:
        bare.shutdown(wait=False)


def test_a_platform_that_does_not_answer_never_holds_up_the_timers(session: Session, official, make_app) -> None:  # noqa: ANN001
    from tests.processes.conftest import ComplaintRun
    from tests.processes.test_complaint import accept
    from web.scheduler import run_job

    record = _record(session)
    run = ComplaintRun(session, official, False)
    run.register()
    accept(run)  # the verification's reminders fell due long ago (the case is from March 2026)
    due = run.instance().next_timer_at
    assert due is not None
    with Receiver(["hold"]) as receiver:
        app = make_app(PLATFORM_ENDPOINT=receiver.url, PLATFORM_DEADLINE_SECONDS=60)
        delivering = threading.Thread(target=run_job, args=(app, "platform-provincial"))
        delivering.start()
        for _ in range(200):  # wait until the platform has the request (and sits on it)
            if receiver.received:
                break
            time.sleep(0.05)
        assert receiver.received
        run_job(app, "timer-tick")  # meanwhile the timer tick runs, and fires the due reminder
        session.expire_all()
        assert run.instance().next_timer_at != due
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "timer_fired")) is not None
        assert delivering.is_alive()  # the delivery is still waiting for its answer
        receiver.release.set()
        delivering.join(30)
    assert not delivering.is_alive()
    session.expire_all()
    assert session.scalar(select(PlatformDelivery.delivered_at).where(PlatformDelivery.record_id == record.id))


def test_a_failing_job_never_stops_another(session: Session, make_app, tmp_path: Path,  # noqa: ANN001
                                           monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from engine.credit import jobs as module
    from web.scheduler import run_job

    _record(session)
    real = module.deliver

    def broken(session: Session, *args: object, target: str = "provincial", **kwargs: object) -> int:
        if target == "provincial":
            raise RuntimeError("the provincial job broke")
        return real(session, *args, target=target, **kwargs)

    monkeypatch.setattr(module, "deliver", broken)
    app = make_app(PLATFORM_DROP_DIR=str(tmp_path / "p"), NATIONAL_PLATFORM_DROP_DIR=str(tmp_path / "n"))
    run_job(app, "platform-provincial")  # logged and rolled back, not raised
    assert "scheduler job platform-provincial failed" in caplog.text
    run_job(app, "platform-national")
    assert len(list((tmp_path / "n").glob("*.json"))) == 1
