"""统计调度 over HTTP: the dashboard page, the cases behind a number, the JSON API and who may see what."""
from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from engine.credit import jobs as credit_jobs
from engine.org.models import Official
from tests.integration.oversight_data import build

Q1 = "start=2026-01-01&end=2026-03-31"


@pytest.fixture
def data(session: Session, official: Callable[[str], Official]):  # noqa: ANN201
    return build(session, official)


def codes(html: str) -> set[str]:
    return set(re.findall(r"<code>(YN\w+)</code>", html))


def test_the_provincial_drc_sees_the_dashboard_with_links_to_the_cases(client, login, data) -> None:  # noqa: ANN001
    login("ndrc")
    html = client.get("/inbox/").get_data(as_text=True)
    assert 'href="/oversight/"' in html
    assert "统计调度" in html
    response = client.get(f"/oversight/?{Q1}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "云南省（全省）" in html
    assert "2026-01-01 至 2026-03-31" in html
    for chart in ("chart-map", "chart-stacked", "chart-trend", "chart-channels", "chart-stages", "chart-overdue"):
        assert f'id="{chart}"' in html
    assert "<script>" not in html  # the CSP allows no inline script: data comes from the JSON API
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    assert 'data-figures-url="/api/v1/oversight/figures?start=2026-01-01&amp;end=2026-03-31"' in html
    # every number links to its cases: 9 received, 6 accepted; 昆明 has 3
    assert re.search(r'href="/oversight/cases\?start=2026-01-01&amp;end=2026-03-31&amp;figure=received">9</a>', html)
    assert re.search(r'figure=accepted">6</a>', html)
    assert re.search(r'figure=received&amp;prefecture=530100">3</a>', html)
    accepted = client.get(f"/oversight/cases?figure=accepted&{Q1}")
    assert accepted.status_code == 200
    expected = {data.cases[n].tracking_code for n in ("A", "C", "D", "E", "F", "R")}
    assert codes(accepted.get_data(as_text=True)) == expected
    assert "共 6 件" in accepted.get_data(as_text=True)
    km = client.get(f"/oversight/cases?figure=received&prefecture=530100&{Q1}").get_data(as_text=True)
    assert codes(km) == {data.cases[n].tracking_code for n in ("A", "B", "G")}
    assert client.get(f"/oversight/cases?figure=nonsense&{Q1}").status_code == 404
    assert client.get("/oversight/?start=2026-03-31&end=2026-01-01").status_code == 422


def test_a_prefecture_lead_sees_only_its_prefecture(client, login, api, data) -> None:  # noqa: ANN001
    login("km-drc")
    html = client.get(f"/oversight/?{Q1}").get_data(as_text=True)
    assert "昆明市" in html
    assert "云南省（全省）" not in html
    assert re.search(r'figure=received&amp;prefecture=530100">3</a>', html)
    assert "曲靖市</th>" not in html  # no row of another prefecture
    assert 'value="530300"' not in html  # nor in the prefecture filter
    assert client.get(f"/oversight/?prefecture=530300&{Q1}").status_code == 403
    assert client.get(f"/oversight/cases?figure=received&prefecture=530300&{Q1}").status_code == 403
    assert client.get(f"/oversight/?department=qj-commerce&{Q1}").status_code == 403
    assert client.get(f"/oversight/?department=km-commerce&{Q1}").status_code == 200
    body = api("km-drc").get(f"/api/v1/oversight/figures?{Q1}").get_json()
    assert body["scope"] == {"kind": "prefecture", "prefecture": "530100", "department_id": None, "label": "昆明市"}
    assert body["intake"]["received"] == 3
    refused = api("km-drc").get(f"/api/v1/oversight/figures?prefecture=530300&{Q1}")
    assert refused.status_code == 403
    assert "只能查看本州" in refused.get_json()["message"]
    rows = api("km-drc").get(f"/api/v1/oversight/ranking?{Q1}").get_json()["rows"]
    assert [r["key"] for r in rows] == ["530100"]


@pytest.mark.parametrize("username", ["guandu-commerce", "km-commerce", "yn-commerce"])
def test_respondent_and_supervisor_officials_are_refused(client, login, api, data, username: str) -> None:  # noqa: ANN001
    login(username)
    assert "统计调度" not in client.get("/inbox/").get_data(as_text=True)
    assert client.get(f"/oversight/?{Q1}").status_code == 403
    assert client.get(f"/oversight/cases?figure=received&{Q1}").status_code == 403
    assert api(username).get(f"/api/v1/oversight/figures?{Q1}").status_code == 403
    assert api(username).get(f"/api/v1/oversight/ranking?{Q1}").status_code == 403


def test_signed_out_callers_are_sent_to_sign_in(client) -> None:  # noqa: ANN001
    assert client.get("/oversight/").status_code == 302
    assert client.get("/api/v1/oversight/figures").status_code == 401


def test_the_json_api(api, data) -> None:  # noqa: ANN001
    ndrc = api("ndrc")
    body = ndrc.get(f"/api/v1/oversight/figures?{Q1}").get_json()
    assert body["period"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert body["intake"] == {"received": 9, "accepted": 6, "rejected": 1, "merged": 1, "pending": 1}
    assert body["verification"]["due"] == 7
    assert body["outcomes"]["founded_rate"] == 0.6
    assert [s["stage"] for s in body["stages"]][-1] == "total"
    assert body["labels"]["prefectures"]["530100"] == "昆明市"
    narrowed = ndrc.get(f"/api/v1/oversight/figures?{Q1}&channel=counter&domain=investment_promotion").get_json()
    assert narrowed["intake"]["received"] == 2
    ranking = ndrc.get(f"/api/v1/oversight/ranking?{Q1}").get_json()
    assert len(ranking["rows"]) == 17
    assert {"on_time_rate", "rectification_rate", "data_quality_rate", "punishment_rate"} <= set(ranking["rows"][0])
    departments = ndrc.get(f"/api/v1/oversight/ranking?{Q1}&by=department&level=province").get_json()["rows"]
    assert {r["label"] for r in departments} == {"云南省商务厅", "云南省人民政府"}
    bad = ndrc.get("/api/v1/oversight/figures?start=2026-03-31&end=2026-01-01")
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {"end": "结束日期不能早于开始日期"}
    assert ndrc.get("/api/v1/oversight/figures?prefecture=999999").status_code == 422
    assert ndrc.get("/api/v1/oversight/figures?channel=fax").status_code == 422
    assert ndrc.get("/api/v1/oversight/figures").status_code == 200  # the current quarter by default


def test_openapi_documents_the_oversight_endpoints(client) -> None:  # noqa: ANN001
    spec = client.get("/api/v1/openapi.json").get_json()
    figures = spec["paths"]["/api/v1/oversight/figures"]["get"]
    assert {p["name"] for p in figures["parameters"]} >= {"start", "end", "prefecture", "department", "channel",
                                                          "domain"}
    assert "403" in figures["responses"]
    assert "/api/v1/oversight/ranking" in spec["paths"]


def test_monthly_numbers_link_to_their_month(client, login, data) -> None:  # noqa: ANN001
    login("ndrc")
    html = client.get(f"/oversight/?{Q1}").get_data(as_text=True)
    link = re.search(r'href="(/oversight/cases\?start=2026-02-01&amp;end=2026-02-28&amp;figure=received)">2</a>', html)
    assert link
    listed = codes(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert listed == {data.cases["C"].tracking_code, data.cases["F"].tracking_code}


def test_the_dashboard_figures_are_kept_for_a_while_but_case_lists_are_live(
        make_app, session: Session, official, demo_password, data) -> None:  # noqa: ANN001
    import web.oversight
    from engine.cases.services import register_complaint
    from tests.integration.oversight_data import BASE, yn

    app = make_app(WTF_CSRF_ENABLED=False, OVERSIGHT_CACHE_SECONDS=300)
    client = app.test_client()
    assert client.post("/login", data={"username": "ndrc", "password": demo_password}).status_code == 302
    try:
        assert re.search(r'figure=received">9</a>', client.get(f"/oversight/?{Q1}").get_data(as_text=True))
        register_complaint(session, {**BASE, "respondent_code": "km-finance", "domain": "other"}, official("intake"),
                           now=yn(2026, 2, 2, 9))
        session.commit()
        html = client.get(f"/oversight/?{Q1}").get_data(as_text=True)
        assert re.search(r'figure=received">9</a>', html)  # computed a moment ago: kept
        assert "数字每 5 分钟重新计算" in html
        assert "共 10 件" in client.get(f"/oversight/cases?figure=received&{Q1}").get_data(as_text=True)  # live
    finally:
        web.oversight._CACHE.clear()


def test_an_intake_official_in_a_prefecture_lead_department_sees_no_dashboard(client, login, api, session,  # noqa: ANN001
                                                                              official, data) -> None:
    """Only the role prefecture_lead makes a credit lead department's official a prefecture lead: no link to
    a page that would then refuse them."""
    clerk = official("km-drc")
    clerk.roles = ["intake"]  # registers complaints at Kunming's credit lead department
    session.commit()
    login("km-drc")
    assert "统计调度" not in client.get("/inbox/").get_data(as_text=True)
    assert client.get(f"/oversight/?{Q1}").status_code == 403
    assert api("km-drc").get(f"/api/v1/oversight/figures?{Q1}").status_code == 403


def test_platform_and_measure_numbers_agree_with_their_lists(client, login, api, session: Session,  # noqa: ANN001
                                                             data) -> None:
    from engine.credit.models import PlatformDelivery

    provincial = session.query(PlatformDelivery).count()
    assert credit_jobs.fan_out(session, "national") == provincial  # a national copy of every version
    body = api("ndrc").get(f"/api/v1/oversight/figures?{Q1}").get_json()
    # provincial versions queued in Q1 only (M1's first one was queued in 2025, D's draft never); none delivered here
    assert (body["quality"]["deliveries"], body["quality"]["pending"]) == (5, 5)
    assert body["credit"]["measures_applied"] == 2  # D's record and M1 (migrated, no case)
    login("ndrc")
    html = client.get(f"/oversight/?{Q1}").get_data(as_text=True)
    assert re.search(r'figure=deliveries">5</a>', html)
    assert re.search(r'figure=measures_applied">2</a>', html)
    measures = client.get(f"/oversight/cases?figure=measures_applied&{Q1}").get_data(as_text=True)
    assert "共 2 项措施" in measures
    assert "<td>公开通报批评</td>" in measures
    assert "<td>取消评优评先</td>" in measures  # M1's measure: a record without a case is listed too
    versions = client.get(f"/oversight/cases?figure=deliveries&{Q1}").get_data(as_text=True)
    assert "共 5 个记录版本" in versions
    assert versions.count("<td>未送达</td>") == 5
    pending = client.get(f"/oversight/cases?figure=deliveries_pending&prefecture=532500&{Q1}").get_data(as_text=True)
    assert "共 3 个记录版本" in pending
