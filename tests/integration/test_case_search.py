"""Finding cases: each filter of the case list, the inbox and GET /api/v1/complaints, through HTTP, on the
database under test (SQLite's FTS5 trigram table or PostgreSQL's pg_trgm index — checked in the query plan)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.cases.search import CaseQuery, case_conditions
from engine.cases.services import open_tasks, register_complaint
from engine.uscc import CHARSET, WEIGHTS
from engine.workflow import clock
from engine.workflow.instances import complete_task

T0 = datetime(2026, 9, 14, 1, 0, tzinfo=UTC)  # Monday 09:00 in Yunnan
# when the lists are read: 滇信's verification (due end of 2026-10-10) is overdue, the other open tasks are not
READ_AT = datetime(2026, 10, 13, 2, 0, tzinfo=UTC)


def uscc(body: str) -> str:
    """A valid 统一社会信用代码 for a 17-character body (GB 32100 check character appended)."""
    total = sum(CHARSET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return body + CHARSET[(31 - total % 31) % 31]


BASE = {
    "contact_person": "李明", "contact_phone": "13888001234", "agreement_name": "招商引资协议",
    "domain": "investment_promotion", "breach_type": "unpaid", "facts": "扶持资金未兑现", "claims": "兑现扶持资金",
}


@pytest.fixture
def cases(session: Session, official) -> dict[str, Complaint]:  # noqa: ANN001
    """Five cases that differ in every filtered field."""
    intake = official("intake")

    def register(name: str, body: str, respondent: dict, at: datetime, **extra: object) -> Complaint:
        complaint, _ = register_complaint(session, {**BASE, **respondent, **extra, "complainant_name": name,
                                                    "complainant_uscc": uscc(body)}, intake, now=at)
        return complaint

    found = {
        "dianxin": register("云南滇信科技有限公司", "91530100MA6K0001X", {"respondent_code": "km-guandu-commerce"},
                            T0),
        "caiyun": register("昆明彩云建设工程有限公司", "91530100MA6K0002X", {"respondent_code": "km-commerce"},
                           datetime(2026, 10, 9, 2, tzinfo=UTC), channel="hotline_12345", external_ref="12345-1"),
        "qilin": register("曲靖麒麟食品有限公司", "91530300MA6K0003X", {"respondent_code": "qj-qilin-commerce"},
                          datetime(2026, 10, 5, 2, tzinfo=UTC), channel="credit_yunnan", external_ref="cy-9"),
        "mengzi": register("蒙自市红河果业有限公司", "91532500MA6K0004X", {"respondent_code": "hh-mengzi-industry"},
                           datetime(2026, 10, 12, 2, tzinfo=UTC)),
        "unknown": register("大理苍山旅游开发有限公司", "91532900MA6K0005X", {"respondent_name": "某县招商服务中心"},
                            datetime(2026, 10, 20, 2, tzinfo=UTC)),
    }
    # 滇信: accepted, at verification with 昆明市商务局 (due long ago: overdue); 蒙自: rejected and closed
    (screening,) = open_tasks(session, found["dianxin"])
    complete_task(session, screening.id, {"accepted": True}, intake, now=T0)
    (screening,) = open_tasks(session, found["mengzi"])
    complete_task(session, screening.id, {"accepted": False, "reason": "out_of_scope"}, intake,
                  now=datetime(2026, 10, 12, 3, tzinfo=UTC))
    session.commit()
    return found


def _codes(page: str) -> list[str]:
    return re.findall(r"<code>(YN\w+)</code>", page)


def _names(api, url: str) -> tuple[int, list[str]]:  # noqa: ANN001
    response = api("ndrc").get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["total"], sorted(item["complainant_name"] for item in body["items"])


FILTERS = [  # query → the complainants it finds (the provincial DRC sees all five)
    ("q=滇信科技", ["云南滇信科技有限公司"]),
    ("q=有限公司", None),  # all five
    ("q=滇信", ["云南滇信科技有限公司"]),  # two characters: below the trigram, still the database's LIKE
    ("q=官渡区商务", ["云南滇信科技有限公司"]),  # respondent name
    ("q=MA6K0003", ["曲靖麒麟食品有限公司"]),  # part of the USCC
    ("complainant=91530300MA6K0003X", None),  # filled in below: the full USCC
    ("complainant=彩云建设", ["昆明彩云建设工程有限公司"]),
    ("respondent=麒麟区", ["曲靖麒麟食品有限公司"]),
    ("respondent=招商服务中心", ["大理苍山旅游开发有限公司"]),
    ("supervisor=km-commerce", ["云南滇信科技有限公司"]),
    ("prefecture=530100", ["云南滇信科技有限公司", "昆明彩云建设工程有限公司"]),
    ("prefecture=532500", ["蒙自市红河果业有限公司"]),
    ("status=verifying", ["云南滇信科技有限公司"]),
    ("status=closed", ["蒙自市红河果业有限公司"]),
    ("result=rejected", ["蒙自市红河果业有限公司"]),
    ("channel=hotline_12345", ["昆明彩云建设工程有限公司"]),
    ("channel=credit_yunnan", ["曲靖麒麟食品有限公司"]),
    ("received_from=2026-10-01&received_to=2026-10-12",
     ["昆明彩云建设工程有限公司", "曲靖麒麟食品有限公司", "蒙自市红河果业有限公司"]),
    ("received_to=2026-09-14", ["云南滇信科技有限公司"]),  # the whole day in Yunnan
    ("overdue=1", ["云南滇信科技有限公司"]),
    ("q=昆明&channel=hotline_12345", ["昆明彩云建设工程有限公司"]),
    ("q=%25", []),  # LIKE's wildcard is a character like any other
    ("q=\"滇信", []),  # FTS5 query syntax in the term is only text
]


@pytest.fixture(autouse=True)
def _read_at() -> Iterator[None]:
    with clock.frozen_at(READ_AT):
        yield


def test_each_filter_through_the_api(api, cases: dict[str, Complaint]) -> None:  # noqa: ANN001
    everyone = sorted(c.complainant_name for c in cases.values())
    for query, expected in FILTERS:
        if query.startswith("complainant=9153"):
            expected = ["曲靖麒麟食品有限公司"]
            query = f"complainant={cases['qilin'].complainant_uscc}"
        total, names = _names(api, f"/api/v1/complaints?{query}")
        wanted = everyone if expected is None else sorted(expected)
        assert (total, names) == (len(wanted), wanted), query
    code = cases["qilin"].tracking_code
    assert _names(api, f"/api/v1/complaints?tracking_code={code[2:10].lower()}")[1] == ["曲靖麒麟食品有限公司"]


def test_case_list_page_filters_sorts_and_keeps_filters_when_paging(client, login, cases, monkeypatch) -> None:  # noqa: ANN001
    login("ndrc")
    page = client.get("/cases/?respondent=商务&sort=received").get_data(as_text=True)
    assert _codes(page) == [cases[k].tracking_code for k in ("dianxin", "qilin", "caiyun")]
    assert "共 3 件" in page
    assert 'value="商务"' in page  # the filter stays in its field
    page = client.get("/cases/?respondent=商务&sort=-received").get_data(as_text=True)
    assert _codes(page) == [cases[k].tracking_code for k in ("caiyun", "qilin", "dianxin")]
    page = client.get("/cases/?sort=complainant").get_data(as_text=True)
    assert _codes(page) == [c.tracking_code for c in sorted(cases.values(), key=lambda c: c.complainant_name)]
    # the heading links keep the filters and reverse the order
    heading = re.search(r'<a href="([^"]+)" class="sort sorted"', client.get(
        "/cases/?status=closed&sort=complainant").get_data(as_text=True)).group(1)
    assert parse_qs(urlparse(heading.replace("&amp;", "&")).query) == {"status": ["closed"], "sort": ["-complainant"]}

    monkeypatch.setattr("web.cases.PAGE_SIZE", 2)
    first = client.get("/cases/?q=有限公司&sort=received").get_data(as_text=True)
    assert _codes(first) == [cases["dianxin"].tracking_code, cases["qilin"].tracking_code]
    nxt = re.search(r'<a href="([^"]+)">下一页</a>', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(nxt).query) == {"q": ["有限公司"], "sort": ["received"], "page": ["2"]}
    second = client.get(nxt).get_data(as_text=True)
    assert _codes(second) == [cases["caiyun"].tracking_code, cases["mengzi"].tracking_code]
    assert "第 2 / 3 页" in second


def test_case_list_only_shows_what_the_official_may_see(client, login, cases) -> None:  # noqa: ANN001
    login("km-commerce")  # determining department of 滇信 only
    assert _codes(client.get("/cases/?q=有限公司").get_data(as_text=True)) == [cases["dianxin"].tracking_code]
    login("km-drc")  # prefecture lead of Kunming: the two Kunming respondents
    assert sorted(_codes(client.get("/cases/").get_data(as_text=True))) == sorted(
        [cases["dianxin"].tracking_code, cases["caiyun"].tracking_code])


def test_bad_filters_are_chinese_errors_not_500(client, login, api, cases) -> None:  # noqa: ANN001
    login("ndrc")
    for query, field in [("status=nonsense", "status"), ("received_from=2026-13-01", "received_from"),
                         ("received_from=2026-10-02&received_to=2026-10-01", "received_to"),
                         ("supervisor=no-such-dept", "supervisor"), ("prefecture=999999", "prefecture"),
                         ("sort=evil", "sort"), ("q=" + "长" * 101, "q"), ("received_to=9999-12-31", "received_to")]:
        page = client.get(f"/cases/?{query}")
        assert page.status_code == 422, query
        assert f'id="err-{field}"' in page.get_data(as_text=True), query
        response = api("ndrc").get(f"/api/v1/complaints?{query}")
        assert response.status_code == 422, query
        body = response.get_json()
        assert field in body["errors"], (query, body)
        assert re.search(r"[\u4e00-\u9fff]", body["errors"][field]), (query, body)
    assert api("ndrc").get("/api/v1/complaints?limit=0").status_code == 422
    assert api("ndrc").get("/api/v1/complaints?limit=abc").get_json()["errors"]["limit"] == "应为整数"


def test_search_uses_the_databases_text_index(session: Session, cases) -> None:  # noqa: ANN001
    """Not a scan in Python, nor a plain LIKE over the table: the FTS5 table or the pg_trgm index answers."""
    dialect = session.get_bind().dialect.name
    (condition,) = case_conditions(session, CaseQuery(q="滇信科技"))
    compiled = condition.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    sql = f"SELECT id FROM complaint WHERE {compiled}"
    if dialect == "sqlite":
        plan = " ".join(str(row[-1]) for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "VIRTUAL TABLE INDEX" in plan, plan
        assert "complaint_fts" in plan, plan
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in session.execute(text("EXPLAIN " + sql)))
        assert "ix_complaint_trgm" in plan, plan
    assert [row[0] for row in session.execute(text(sql))] == [cases["dianxin"].id]


def test_search_index_follows_changes(session: Session, api, cases) -> None:  # noqa: ANN001
    """Renaming or deleting a case changes what the search finds (the database keeps its index in step)."""
    cases["caiyun"].complainant_name = "昆明七彩云南建设有限公司"
    session.commit()
    assert _names(api, "/api/v1/complaints?q=七彩云南")[1] == ["昆明七彩云南建设有限公司"]
    assert _names(api, "/api/v1/complaints?q=彩云建设")[0] == 0


def test_inbox_filters_by_case_keeps_them_when_paging_and_counts_working_days(client, login, cases,  # noqa: ANN001
                                                                             monkeypatch) -> None:  # noqa: ANN001
    login("intake")  # the screening tasks of 彩云, 麒麟 and 苍山 (滇信 is at verification, 蒙自 closed)
    page = client.get("/?complainant=彩云建设").get_data(as_text=True)
    assert _codes(page) == [cases["caiyun"].tracking_code]
    # registered Fri 2026-10-09; 7 working days (Sat 10-10 is a make-up working day) → due Mon 10-19;
    # read on Tue 10-13: 14, 15, 16 and 19 October are left
    assert "剩余 4 个工作日" in page
    assert _codes(client.get("/?prefecture=530300").get_data(as_text=True)) == [cases["qilin"].tracking_code]
    assert _codes(client.get("/?channel=hotline_12345&state=overdue").get_data(as_text=True)) == []
    bad = client.get("/?received_from=yesterday")
    assert bad.status_code == 422
    assert 'id="err-received_from"' in bad.get_data(as_text=True)

    monkeypatch.setattr("web.inbox.PAGE_SIZE", 2)
    first = client.get("/?q=有限公司&sort=case&claimed=unclaimed").get_data(as_text=True)
    codes = sorted(cases[k].tracking_code for k in ("caiyun", "qilin", "unknown"))
    assert _codes(first) == codes[:2]
    nxt = re.search(r'<a href="([^"]+)">下一页</a>', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(nxt).query) == {"q": ["有限公司"], "sort": ["case"], "claimed": ["unclaimed"],
                                             "page": ["2"]}
    assert _codes(client.get(nxt).get_data(as_text=True)) == codes[2:]

    login("km-commerce")  # 滇信's verification was due at the end of Sat 10-10: Mon 12 and Tue 13 are past
    page = client.get("/").get_data(as_text=True)
    assert "逾期 2 个工作日" in page
    task = re.search(r'<a class="task-link" href="([^"]+)"', page).group(1)
    assert "（逾期 2 个工作日）" in client.get(task).get_data(as_text=True)
    assert "逾期 2 个工作日" in client.get(f"/cases/{cases['dianxin'].id}").get_data(as_text=True)


DOCUMENTED_FIELDS = {  # docs/api.md: the complaint's fields (POST) and what GET adds
    "complainant_name", "complainant_uscc", "legal_representative", "contact_person", "contact_phone",
    "contact_address", "contact_email", "notices_opted_out_at", "is_private_enterprise", "respondent_code", "respondent_name", "agreement_name",
    "agreement_number", "agreement_date", "domain", "contract_amount", "disputed_amount", "breach_type", "facts",
    "claims", "in_litigation", "channel", "external_ref", "id", "tracking_code", "status", "status_label", "result",
    "result_label", "supervisor", "received_at", "closed_at", "contact_masked", "open_tasks", "history",
    "breach_record",
}


def test_complaint_detail_has_every_documented_field_and_its_breach_record(api, session: Session, cases) -> None:  # noqa: ANN001
    from engine.credit import services as credit

    complaint = cases["dianxin"]
    body = api("ndrc").get(f"/api/v1/complaints/{complaint.id}").get_json()
    assert set(body) >= DOCUMENTED_FIELDS, DOCUMENTED_FIELDS - set(body)
    assert body["breach_record"] is None
    assert (body["is_private_enterprise"], body["in_litigation"], body["supervisor_code"]) == (True, False, "km-commerce")

    record = credit.create_record(
        session, now=T0, complaint_id=complaint.id, source="complaint", respondent_id=complaint.respondent_id,
        respondent_name=complaint.respondent_name, respondent_prefecture="530100", determining_name="昆明市商务局",
        determined_on=T0.date(), document_number="昆商认〔2026〕1号", basis="协议第五条", facts="未兑现",
        domain=complaint.domain)
    session.commit()
    link = api("ndrc").get(f"/api/v1/complaints/{complaint.id}").get_json()["breach_record"]
    assert link["id"] == record.id
    assert link["url"] == f"/api/v1/breach-records/{record.id}"
    assert api("ndrc").get(link["url"]).status_code == 200
    listed = api("ndrc").get(f"/api/v1/breach-records?complaint_id={complaint.id}").get_json()
    assert (listed["total"], [r["id"] for r in listed["items"]]) == (1, [record.id])
    other = api("ndrc").get(f"/api/v1/breach-records?complaint_id={cases['caiyun'].id}").get_json()
    assert other == {"total": 0, "total_exact": True, "items": []}
    assert api("ndrc").get("/api/v1/breach-records?complaint_id=x").status_code == 422


def test_openapi_describes_the_lists_and_exports(client, api) -> None:  # noqa: ANN001
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    listed = spec["paths"]["/api/v1/complaints"]["get"]
    assert listed["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ComplaintPage"}
    assert {p["name"] for p in listed["parameters"]} >= {
        "q", "tracking_code", "complainant", "respondent", "supervisor", "prefecture", "status", "result", "channel",
        "received_from", "received_to", "overdue", "sort", "limit", "offset"}
    detail = spec["paths"]["/api/v1/complaints/{complaint_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/ComplaintDetail"}, {"$ref": "#/components/schemas/ChannelComplaint"}]
    props = schemas["ComplaintDetail"]["properties"]
    for name in ("result", "result_label", "closed_at", "supervisor", "respondent_code", "agreement_date",
                 "contract_amount", "contact_email", "notices_opted_out_at", "legal_representative"):
        assert props[name].get("nullable") is True or any(
            alt.get("nullable") for alt in props[name].get("anyOf", [])), name
    assert schemas["PublicRecordPage"]["properties"].keys() == {"total", "items"}
    exports = spec["paths"]["/api/v1/breach-records/export"]["get"]["responses"]["200"]["content"]
    assert set(exports) == {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv",
                            "application/json"}
    for fmt, media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        response = api("ndrc").get(f"/api/v1/breach-records/export?format={fmt}")
        assert response.status_code == 200
        assert response.mimetype == media
