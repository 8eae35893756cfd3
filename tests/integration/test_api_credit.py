"""Breach records over HTTP: who sees which records, filters, export (CSV formulas neutralised), detail with
measures and deliveries, starting measures and repair, the catalogue and the failed-delivery view."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.credit import jobs as credit_jobs
from engine.credit import services
from engine.org.models import Department


def _dept(session: Session, code: str) -> Department:
    return session.scalar(select(Department).where(Department.code == code))


@pytest.fixture
def records(session: Session) -> dict[str, int]:
    now = datetime(2026, 3, 2, 2, tzinfo=UTC)
    made = {}
    for key, respondent, determining, domain, facts in [
        ("km", "km-guandu-commerce", "km-commerce", "investment_promotion", "=HYPERLINK(\"http://x\",\"点我\")"),
        ("qj", "qj-qilin-commerce", "qj-commerce", "government_procurement", "未按约付款"),
    ]:
        resp, det = _dept(session, respondent), _dept(session, determining)
        record = services.create_record(
            session, now=now, source="platform_migration", respondent_id=resp.id, respondent_name=resp.name,
            respondent_uscc=resp.uscc, respondent_division=resp.division_code,
            respondent_prefecture=resp.prefecture_code, determining_department_id=det.id, determining_name=det.name,
            determining_uscc=det.uscc, determined_on=date(2026, 3, 2),
            document_number=f"{key}〔2026〕1号", basis="+协议第五条", facts=facts, domain=domain,
            severity="serious" if key == "km" else "minor")
        made[key] = record.id
    services.apply_measure(session, services.get_record(session, made["km"]), "public_criticism", "-通报1号",
                           None, None, now)
    session.commit()
    return made


@pytest.mark.parametrize(("username", "visible"), [
    ("ndrc", {"km", "qj"}),
    ("km-drc", {"km"}),  # the prefecture's credit lead
    ("km-commerce", {"km"}),  # determining department
    ("guandu-commerce", {"km"}),  # respondent
    ("qj-commerce", {"qj"}),
    ("km-finance", set()),
])
def test_who_sees_which_records(api, records: dict[str, int], username: str, visible: set[str]) -> None:
    body = api(username).get("/api/v1/breach-records").get_json()
    assert {item["id"] for item in body["items"]} == {records[k] for k in visible}
    assert body["total"] == len(visible)
    for key, record_id in records.items():
        status = api(username).get(f"/api/v1/breach-records/{record_id}").status_code
        assert status == (200 if key in visible else 403), (username, key)


def test_filters(api, records: dict[str, int]) -> None:
    ndrc = api("ndrc")

    def ids(query: str) -> set[int]:
        response = ndrc.get(f"/api/v1/breach-records?{query}")
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    assert ids("respondent=官渡") == {records["km"]}
    assert ids("domain=government_procurement") == {records["qj"]}
    assert ids("prefecture=530300") == {records["qj"]}
    assert ids("status=active") == set(records.values())
    assert ids("status=repaired") == set()
    assert ndrc.get("/api/v1/breach-records?status=nonsense").status_code == 422


def test_detail_shows_measures_deliveries_and_the_repair_date(api, records: dict[str, int]) -> None:
    body = api("km-commerce").get(f"/api/v1/breach-records/{records['km']}").get_json()
    assert body["severity_label"] == "严重"
    assert body["repair_eligible_from"] == "2027-03-02"
    assert "2027年03月02日" in body["repair_rule"]
    assert [m["name"] for m in body["active_measures"]] == ["公开通报批评"]
    assert body["version"] == 2
    assert body["number"] == _number(api, records["km"])
    assert [(d["record_version"], d["event"], d["event_label"], d["delivered_at"]) for d in body["deliveries"]] == [
        (1, "created", "新建", None), (2, "measure_applied", "实施惩戒措施", None)]
    assert len({d["idempotency_key"] for d in body["deliveries"]}) == 2
    [measure] = body["active_measures"]
    assert (measure["department"], measure["end_document_number"]) == ("云南省发展和改革委员会（信用处）", None)


def _number(api, record_id: int) -> str:  # noqa: ANN001
    return api("ndrc").get(f"/api/v1/breach-records/{record_id}").get_json()["number"]


def test_csv_export_neutralises_formulas(api, records: dict[str, int]) -> None:
    response = api("ndrc").get("/api/v1/breach-records/export?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    header, lines = rows[0], rows[1:]
    assert "失信事实（SXSS）" in header
    assert len(lines) == 2
    cells = [cell for line in lines for cell in line]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in cells
    assert "'+协议第五条" in cells
    km = next(line for line in lines if line[0] == _number(api, records["km"]))
    assert km[-1] == "公开通报批评"


def test_json_export_is_filtered_by_visibility(api, records: dict[str, int]) -> None:
    body = api("qj-commerce").get("/api/v1/breach-records/export?format=json").get_json()
    assert [r["JLBH"] for r in body] == [_number(api, records["qj"])]
    assert (body[0]["SXCD"], body[0]["SXLY"], body[0]["JLZT"]) == ("轻微", "政府采购", "有效（公示中）")  # Chinese codes
    assert "BGLX" not in body[0]  # an export is no change


def test_measures_and_repair_are_started_over_http(api, records: dict[str, int]) -> None:
    assert api("km-commerce").post(f"/api/v1/breach-records/{records['km']}/measures", json={}).status_code == 403
    started = api("ndrc").post(f"/api/v1/breach-records/{records['km']}/measures", json={"action": "apply"})
    assert started.status_code == 201, started.get_json()
    tasks = api("ndrc").get("/api/v1/tasks?lane=ndrc").get_json()["items"]
    [choose] = [t for t in tasks if t["spec_name"] == "choose_measure"]
    done = api("ndrc").post(f"/api/v1/tasks/{choose['id']}/complete",
                            json={"measure_code": "cancel_awards", "document_number": "云发改信用〔2026〕50号"})
    assert done.status_code == 200, done.get_json()
    body = api("ndrc").get(f"/api/v1/breach-records/{records['km']}").get_json()
    assert {m["name"] for m in body["active_measures"]} == {"公开通报批评", "取消评优评先"}

    early = api("guandu-commerce").post(f"/api/v1/breach-records/{records['km']}/repair")
    assert early.status_code == 409
    assert "2027年03月02日" in early.get_json()["message"]
    minor = api("qj-commerce").post(f"/api/v1/breach-records/{records['qj']}/repair")  # superior of the respondent
    assert minor.status_code == 201, minor.get_json()
    # a record that came from no complaint has no case whose lanes could resolve: the provincial DRC handles it
    # (records from complaints go to the respondent and the determining department: tests/processes/test_credit.py)
    tasks = api("ndrc").get("/api/v1/tasks").get_json()["items"]
    assert "apply_repair" in [t["spec_name"] for t in tasks]


def test_the_catalogue_is_edited_by_the_ndrc(api, client) -> None:
    names = [m["name"] for m in api("km-commerce").get("/api/v1/measure-types").get_json()]
    assert len(names) == 11
    assert "对主要负责人和直接责任人依法追究" in names
    change = {"name": "公开通报批评（信用中国网站）", "level": "local"}
    url = "/api/v1/measure-types/public_criticism"
    assert client.put(url, json=change, headers=api("km-commerce").headers).status_code == 403
    saved = client.put(url, json=change, headers=api("ndrc").headers)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["name"] == "公开通报批评（信用中国网站）"


def test_failed_deliveries_view_and_retry(api, session: Session, records: dict[str, int]) -> None:

    assert credit_jobs.deliver(session, "http://127.0.0.1:9/closed", timeout=0.5) == 0
    assert api("km-commerce").get("/api/v1/platform-deliveries").status_code == 403
    failed = api("ndrc").get("/api/v1/platform-deliveries").get_json()
    assert len(failed) == 1
    assert failed[0]["attempts"] == 1
    assert failed[0]["last_error"]
    retried = api("sysadmin").post(f"/api/v1/platform-deliveries/{failed[0]['id']}/retry")
    assert retried.status_code == 200
    log = api("ndrc").get(f"/api/v1/platform-deliveries?record_id={records['km']}").get_json()
    assert [d["record_version"] for d in log] == [1, 2]


def test_public_list_shows_records_in_publication_without_facts(client, session: Session,
                                                               records: dict[str, int]) -> None:
    page = client.get("/api/v1/public/breach-records").get_json()
    assert set(page) == {"total", "items"}
    assert page["total"] == len(page["items"])
    one = client.get("/api/v1/public/breach-records?limit=1&offset=0").get_json()
    assert (one["total"], len(one["items"])) == (page["total"], min(page["total"], 1))
    body = page["items"]
    # minor (qj): published three months from 2026-03-02, over by now; serious (km): published until 2029
    by_id = {r["id"]: r for r in body}
    assert records["km"] in by_id
    assert "facts" not in by_id[records["km"]]
    assert by_id[records["km"]]["basis"] == "+协议第五条"  # the basis is public (complainant data masked)
    assert by_id[records["km"]]["active_measures"] == ["公开通报批评"]
    km = services.get_record(session, records["km"])
    services.repair_record(session, km, "修1号", None, datetime(2027, 3, 3, tzinfo=UTC))
    session.commit()
    assert records["km"] not in {r["id"] for r in client.get("/api/v1/public/breach-records").get_json()["items"]}
