"""Officials' pages for breach records: the filtered list (only what the official may see), the record with its
measures and delivery log, the failed-delivery view with its retry button, and the exports — xlsx opened and
checked, formula injection neutralised in xlsx and CSV."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.credit import exchange, services
from engine.credit import jobs as credit_jobs
from engine.credit.models import PLATFORM_TARGETS, PlatformDelivery
from engine.org.models import Department

NOW = datetime(2026, 3, 2, 2, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://x","点我")'


def _dept(session: Session, code: str) -> Department:
    return session.scalar(select(Department).where(Department.code == code))


@pytest.fixture
def records(session: Session) -> dict[str, int]:
    made = {}
    for key, respondent, determining, domain, facts, day, severity in [
        ("km", "km-guandu-commerce", "km-commerce", "investment_promotion", FORMULA, date(2026, 3, 2), "serious"),
        ("qj", "qj-qilin-commerce", "qj-commerce", "government_procurement", "未按约付款", date(2026, 5, 10), "ordinary"),
    ]:
        resp, det = _dept(session, respondent), _dept(session, determining)
        record = services.create_record(
            session, now=NOW, source="platform_migration", respondent_id=resp.id, respondent_name=resp.name,
            respondent_uscc=resp.uscc, respondent_division=resp.division_code,
            respondent_prefecture=resp.prefecture_code, determining_department_id=det.id,
            determining_name=det.name, determining_uscc=det.uscc, determined_on=day, publication_start=day, document_number=f"{key}〔2026〕1号",
            basis="+协议第五条", facts=facts, domain=domain, severity=severity, amount="-1200.50")
        made[key] = record.id
    km = services.get_record(session, made["km"])
    services.apply_measure(session, km, "public_criticism", "-通报1号", None, None, NOW)
    services.get_record(session, made["qj"]).rectification_state = "rectifying"
    session.commit()
    return made


@pytest.fixture
def numbers(session: Session, records: dict[str, int]) -> dict[str, str]:
    """The records' numbers (JLBH): the first column of the exports."""
    return {k: services.get_record(session, v).number for k, v in records.items()}


def _ids(page: str, records: dict[str, int]) -> set[str]:
    return {key for key, record_id in records.items() if f'href="/credit/records/{record_id}"' in page}


@pytest.mark.parametrize(("username", "visible"), [
    ("ndrc", {"km", "qj"}), ("km-drc", {"km"}), ("guandu-commerce", {"km"}), ("qj-commerce", {"qj"}),
    ("km-finance", set()),
])
def test_the_list_shows_what_the_official_may_see(client, login, records: dict[str, int], username: str,
                                                  visible: set[str]) -> None:
    login(username)
    page = client.get("/credit/records")
    assert page.status_code == 200
    assert _ids(page.get_data(as_text=True), records) == visible
    for key, record_id in records.items():
        assert client.get(f"/credit/records/{record_id}").status_code == (200 if key in visible else 403)


@pytest.mark.parametrize(("query", "expected"), [
    ("respondent=官渡", {"km"}), ("respondent=麒麟", {"qj"}),
    ("division=530300", {"qj"}), ("division=530111", {"km"}),  # a prefecture, or the respondent's own division
    ("domain=government_procurement", {"qj"}),
    ("rectification_state=rectifying", {"qj"}), ("rectification_state=not_rectified", {"km"}),
    ("determined_from=2026-04-01", {"qj"}), ("determined_to=2026-03-31", {"km"}),
    ("determined_from=2026-03-01&determined_to=2026-05-10", {"km", "qj"}),
    ("status=repaired", set()),
])
def test_filters(client, login, records: dict[str, int], query: str, expected: set[str]) -> None:
    login("ndrc")
    page = client.get(f"/credit/records?{query}").get_data(as_text=True)
    assert _ids(page, records) == expected, query


def test_a_bad_filter_is_named_and_ignored(client, login, records: dict[str, int]) -> None:
    login("ndrc")
    page = client.get("/credit/records?determined_from=2026-13-01&domain=nonsense").get_data(as_text=True)
    assert "认定日期起「2026-13-01」不是有效的日期" in page
    assert "领域「nonsense」不是可选的值" in page
    assert _ids(page, records) == {"km", "qj"}


def test_the_record_page_shows_measures_and_the_delivery_log(client, login, session: Session,
                                                            records: dict[str, int]) -> None:
    credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5)
    login("km-commerce")
    page = client.get(f"/credit/records/{records['km']}").get_data(as_text=True)
    assert "公开通报批评" in page
    assert "-通报1号" in page
    assert "省信用信息共享平台" in page
    record = services.get_record(session, records["km"])
    assert record.number in page
    for delivery in exchange.deliveries_of(session, record.id):
        assert delivery.idempotency_key in page
    assert "云南省发展和改革委员会（信用处）" in page  # the measure's department
    assert "失败：" in page  # version 1 failed, version 2 waits
    assert "立即重试" not in page  # not an operator
    assert "start_measure" not in page
    assert "/measures" not in page
    assert "2027年03月02日" in page  # serious: repair from one year after publication start
    login("ndrc")
    page = client.get(f"/credit/records/{records['km']}").get_data(as_text=True)
    assert "立即重试" in page
    measures_url = f"/credit/records/{records['km']}/measures"
    assert f'action="{measures_url}"' in page
    assert "选为曝光典型案例" in page


def test_failed_deliveries_page_and_retry(client, login, session: Session, records: dict[str, int]) -> None:
    credit_jobs.deliver(session, "http://127.0.0.1:9/closed", NOW, timeout=0.5)
    [failed] = exchange.failed_deliveries(session)
    login("km-commerce")
    assert client.get("/credit/deliveries").status_code == 403
    assert client.post(f"/credit/deliveries/{failed.id}/retry").status_code == 403
    login("sysadmin")
    page = client.get("/credit/deliveries").get_data(as_text=True)
    assert failed.idempotency_key in page
    assert "立即重试" in page
    waiting = session.scalars(select(PlatformDelivery.target).where(PlatformDelivery.delivered_at.is_(None))).all()
    assert waiting
    for code, label in PLATFORM_TARGETS.items():  # the backlog line: undelivered rows per destination
        assert f"{label} {waiting.count(code)} 条" in page
    retried = client.post(f"/credit/deliveries/{failed.id}/retry", follow_redirects=True)
    assert "已安排立即重试" in retried.get_data(as_text=True)
    session.expire_all()
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "platform_delivery_retry"))
    assert audit.object_id == str(failed.id)
    assert audit.actor_label.startswith("sysadmin")


@pytest.mark.parametrize("url", ["/credit/records/export?format=xlsx",
                                 "/api/v1/breach-records/export?format=xlsx"])
def test_xlsx_export_opens_with_typed_cells_and_inert_formulas(client, login, numbers: dict[str, str],
                                                               url: str) -> None:
    login("ndrc")
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["违约失信记录", "惩戒措施"]
    sheet = book["违约失信记录"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "记录编号（JLBH）"
    assert "失信事实（SXSS）" in header
    assert header[-1] == "实施中的惩戒措施（CJCS）"
    rows = {row[0].value: {h: c for h, c in zip(header, row, strict=True)} for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == set(numbers.values())
    km = rows[numbers["km"]]
    assert km["失信事实（SXSS）"].value == "'" + FORMULA
    assert km["失信事实（SXSS）"].data_type == "s"
    assert km["认定依据（RDYJ）"].value == "'+协议第五条"
    assert km["认定日期（RDRQ）"].value == datetime(2026, 3, 2)  # a real date cell
    assert km["认定日期（RDRQ）"].number_format == "yyyy-mm-dd"
    assert float(km["涉及金额（元）（SXJE）"].value) == -1200.5  # a number, not a formula
    assert km["失信领域（SXLY）"].value == "招商引资"  # the platform's code: by default the Chinese label
    assert km["记录版本号（BBH）"].value == 2
    assert km["实施中的惩戒措施（CJCS）"].value == "公开通报批评"
    measures = book["惩戒措施"]
    assert [c.value for c in measures[1]][4:6] == ["实施部门（SSBM）", "实施部门统一社会信用代码（SSBMTYSHXYDM）"]
    [measure] = list(measures.iter_rows(min_row=2, values_only=True))
    assert measure[2] == "公开通报批评"
    assert measure[4] == "云南省发展和改革委员会（信用处）"
    assert measure[7] == "'-通报1号"
    assert measure[-1] == numbers["km"]
    for ws in book.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type != "f"
                assert not (isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@"))), cell.value


def test_xlsx_export_follows_filters_and_visibility(client, login, numbers: dict[str, str]) -> None:
    login("qj-commerce")
    book = load_workbook(io.BytesIO(client.get("/credit/records/export?format=xlsx").data))
    assert [r[0] for r in book.active.iter_rows(min_row=2, values_only=True)] == [numbers["qj"]]
    login("ndrc")
    book = load_workbook(io.BytesIO(client.get("/credit/records/export?format=xlsx&division=530100").data))
    assert [r[0] for r in book.active.iter_rows(min_row=2, values_only=True)] == [numbers["km"]]


def test_csv_and_json_exports_from_the_page(client, login, numbers: dict[str, str]) -> None:
    login("ndrc")
    text = client.get("/credit/records/export?format=csv&domain=investment_promotion").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in rows[1])
    assert "'" + FORMULA in rows[1]
    body = client.get("/credit/records/export?format=json").get_json()
    assert {r["JLBH"] for r in body} == set(numbers.values())
    assert next(r for r in body if r["JLBH"] == numbers["km"])["SXSS"] == FORMULA  # JSON keeps the exact value
    assert client.get("/credit/records/export?format=pdf").status_code == 422


def test_the_same_measure_twice_is_a_409_and_the_task_can_be_abandoned(client, login, api, session: Session,
                                                                        records: dict[str, int]) -> None:
    login("ndrc")
    started = client.post(f"/credit/records/{records['km']}/measures", data={"action": "apply"})
    assert started.status_code == 303
    task_url = started.headers["Location"]
    twice = client.post(task_url, data={"measure_code": "public_criticism", "document_number": "通报2号"})
    assert twice.status_code == 409
    html = twice.get_data(as_text=True)
    assert "该记录已在实施「公开通报批评」（-通报1号，2026年03月02日起），不能重复实施" in html
    assert 'name="abandon"' in html  # the task's form again, with what was entered and the choice to abandon
    assert 'value="通报2号"' in html
    task_id = task_url.rsplit("/", 1)[1]
    by_api = api("ndrc").post(f"/api/v1/tasks/{task_id}/complete",
                              json={"measure_code": "public_criticism", "document_number": "通报2号"})
    assert by_api.status_code == 409
    assert "不能重复实施" in by_api.get_json()["message"]
    incomplete = client.post(task_url, data={"abandon": "false"})
    assert incomplete.status_code == 422
    assert "实施措施时必须填写实施文书号" in incomplete.get_data(as_text=True)

    abandoned = client.post(task_url, data={"abandon": "true"})
    assert abandoned.status_code == 303
    open_tasks = api("ndrc").get("/api/v1/tasks?lane=ndrc").get_json()["items"]
    assert [t for t in open_tasks if t["spec_name"] == "choose_measure"] == []
    record = api("ndrc").get(f"/api/v1/breach-records/{records['km']}").get_json()
    assert [m["name"] for m in record["active_measures"]] == ["公开通报批评"]
    assert record["version"] == 2  # created, measure applied: abandoning changed nothing
