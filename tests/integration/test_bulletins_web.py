"""Bulletins and the assessment table over HTTP: the timer through the scheduler tick, background generation with
progress, review and publication, permissions, the public part, xlsx checked cell by cell, the scoring sheet."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import openpyxl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.services import register_complaint
from engine.db import as_utc
from engine.oversight import bulletins
from engine.oversight.models import Bulletin
from engine.oversight.periods import SHANGHAI
from engine.workflow import clock, specs
from engine.workflow.models import ProcessModel
from engine.workflow.start_timers import start_timers_of
from tests.conftest import COMPLAINT

PERSONAL = ("云南滇信科技有限公司", "91440101MA5CJQ4N59", "李明", "13888001234")


def _wait_for_generation(app) -> None:  # noqa: ANN001
    """Join the background generation threads the views started (deterministic, no sleeping)."""
    for thread in app.extensions.pop("lvyue_bulletin_threads", []):
        thread.join(timeout=120)
        assert not thread.is_alive()


def _next_monthly(session: Session) -> datetime:
    model = specs.latest(session, "bulletin")
    (timer,) = [t for t in start_timers_of(session, model) if t.event_id == "start_monthly"]
    deployed = as_utc(session.scalar(select(func.min(ProcessModel.deployed_at)).where(ProcessModel.key == "bulletin")))
    return timer.occurrences(deployed, deployed + timedelta(days=400), limit=1)[0]


def test_the_scheduler_tick_generates_the_monthly_bulletin_at_its_time(app, session: Session, official, api) -> None:  # noqa: ANN001
    from web.scheduler import run_job

    due = _next_monthly(session)
    register_complaint(session, dict(COMPLAINT), official("intake"), now=due - timedelta(days=10))
    session.commit()
    with clock.frozen_at(due - timedelta(minutes=5)):
        run_job(app, "timer-tick")
    assert api("ndrc").get("/api/v1/bulletins").get_json()["total"] == 0
    with clock.frozen_at(due + timedelta(minutes=1)):
        run_job(app, "timer-tick")  # starts the process (timer start event) and generates the snapshot in the same tick
        run_job(app, "timer-tick")  # a second tick starts nothing more
    page = api("ndrc").get("/api/v1/bulletins").get_json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert (item["status"], item["source"], item["progress"], item["period_kind"]) == ("ready", "timer", 100, "month")
    detail = api("ndrc").get(f"/api/v1/bulletins/{item['id']}").get_json()
    assert detail["snapshot"]["figures"]["intake"]["received"] == 1
    assert detail["snapshot"]["generated_at"] == (due + timedelta(minutes=1)).isoformat()
    tasks = api("ndrc").get("/api/v1/tasks").get_json()
    assert any(t["spec_name"] == "review" for t in tasks["items"])


def test_generate_in_background_review_publish_and_permissions(app, client, login, session: Session, official, api) -> None:  # noqa: ANN001
    register_complaint(session, dict(COMPLAINT), official("intake"), now=datetime(2026, 10, 12, 2, tzinfo=UTC))
    session.commit()
    login("km-drc")  # a prefecture lead reads, but may not generate
    assert client.post("/bulletins/generate", data={"kind": "month", "period_start": "2026-10-01"}).status_code == 403
    login("ndrc")
    response = client.post("/bulletins/generate", data={"kind": "month", "period_start": "2026-10-01"})
    assert response.status_code == 303
    bulletin_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _wait_for_generation(app)
    status = client.get(f"/api/v1/bulletins/{bulletin_id}/status").get_json()
    assert (status["status"], status["progress"], status["progress_note"]) == ("ready", 100, "完成")
    page = client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    assert "审核通报" in page
    assert "2026年10月政府违约失信投诉处置情况通报" in page
    assert "bulletin-progress.js" in page
    (task_id,) = [t["id"] for t in api("ndrc").get("/api/v1/tasks").get_json()["items"] if t["spec_name"] == "review"]
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)  # the inbox task links to the bulletin
    assert f'href="/bulletins/{bulletin_id}#review"' in task_page

    # the review form: a missing reason is refused with the field's message; nothing changes
    refused = client.post(f"/bulletins/{bulletin_id}/review", data={"decision": "regenerate"})
    assert refused.status_code == 422
    assert "退回重新生成时必须填写原因" in refused.get_data(as_text=True)
    login("km-drc")
    assert client.post(f"/bulletins/{bulletin_id}/review", data={"decision": "approve"}).status_code == 403
    assert client.get(f"/bulletins/{bulletin_id}").status_code == 403  # not published yet
    login("ndrc")
    done = client.post(f"/bulletins/{bulletin_id}/review", data={
        "decision": "approve", "remarks": "请各州（市）加快核实。", "publish_public": "true"})
    assert done.status_code == 303

    login("km-drc")
    listing = client.get("/bulletins/").get_data(as_text=True)
    assert "2026年10月政府违约失信投诉处置情况通报" in listing
    assert "已发布" in listing
    assert client.get(f"/bulletins/{bulletin_id}").status_code == 200
    assert client.get(f"/bulletins/{bulletin_id}/print").status_code == 200
    assert client.get("/bulletins/assessment/sheet").status_code == 403
    login("km-commerce")  # an ordinary department official sees neither bulletins nor the assessment
    assert client.get("/bulletins/").status_code == 403
    assert client.get("/bulletins/assessment").status_code == 403
    assert api("km-commerce").get("/api/v1/bulletins").status_code == 403
    assert api("km-commerce").get(f"/api/v1/bulletins/{bulletin_id}/xlsx").status_code == 403
    client.post("/logout")
    assert client.get("/bulletins/").status_code == 302  # sign in first

    # the public part: aggregate figures only, linked from the public column's navigation
    assert 'href="/bulletins/public/"' in client.get("/bulletins/public/").get_data(as_text=True)
    assert f'href="/bulletins/public/{bulletin_id}"' in client.get("/bulletins/public/").get_data(as_text=True)
    public = client.get(f"/bulletins/public/{bulletin_id}")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    assert "收到投诉" in text
    assert "昆明市" in text
    # what the snapshot holds is shown: measures, counts by channel and domain, and when the figures were taken
    generated = session.get(Bulletin, bulletin_id).generated_at
    assert f"数据截至 {bulletins.local_time_text(generated)}" in text
    assert "统计期尚未结束" not in text
    assert "<th>实施惩戒措施</th><td>0 项</td>" in text
    channels = text[text.index('class="public-channels"'):text.index('class="public-domains"')]
    assert "<td>窗口登记</td><td class=\"num\">1</td>" in channels
    assert "<td>招商引资</td><td class=\"num\">1</td>" in text[text.index('class="public-domains"'):]
    for secret in (*PERSONAL, "请各州（市）加快核实。", "王鹏"):
        assert secret not in text
    stored = json.dumps(session.get(Bulletin, bulletin_id).public_snapshot, ensure_ascii=False)
    for secret in (*PERSONAL, "王鹏", "官渡区商务局"):
        assert secret not in stored
    assert bulletin_id in [b["id"] for b in api("ndrc").get("/api/v1/bulletins").get_json()["items"]]


def test_api_generate_is_202_with_status_url_and_send_back_makes_a_new_revision(app, api) -> None:  # noqa: ANN001
    assert api("km-drc").post("/api/v1/bulletins", json={"kind": "quarter", "period_start": "2026-07-01"}).status_code == 403
    bad = api("ndrc").post("/api/v1/bulletins", json={"kind": "quarter", "period_start": "2026-08-01"})
    assert bad.status_code == 400
    assert "第一天" in bad.get_json()["message"]
    response = api("ndrc").post("/api/v1/bulletins", json={"kind": "quarter", "period_start": "2026-07-01"})
    assert response.status_code == 202
    assert response.headers["Location"].endswith(f"/api/v1/bulletins/{response.get_json()['id']}/status")
    _wait_for_generation(app)
    first = response.get_json()["id"]
    again = api("ndrc").post(f"/api/v1/bulletins/{first}/review",
                             json={"decision": "regenerate", "regenerate_reason": "数据补录"})
    assert again.status_code == 200
    second = again.get_json()
    assert (second["revision"], second["status"]) == (2, "queued")
    _wait_for_generation(app)
    assert api("ndrc").get(f"/api/v1/bulletins/{first}").get_json()["status"] == "superseded"
    late = api("ndrc").post(f"/api/v1/bulletins/{first}/review", json={"decision": "approve"})
    assert late.status_code == 409
    published = api("ndrc").post(f"/api/v1/bulletins/{second['id']}/review", json={"decision": "approve"})
    assert published.get_json()["status"] == "published"


def test_xlsx_cell_by_cell(app, api, session: Session, official) -> None:  # noqa: ANN001
    register_complaint(session, dict(COMPLAINT), official("intake"), now=datetime(2026, 9, 3, 2, tzinfo=UTC))
    register_complaint(session, {**COMPLAINT, "agreement_number": "2"}, official("intake"),
                       now=datetime(2026, 9, 4, 2, tzinfo=UTC))
    session.commit()
    created = api("ndrc").post("/api/v1/bulletins", json={"kind": "month", "period_start": "2026-09-01"}).get_json()
    _wait_for_generation(app)
    injected = "=HYPERLINK(\"http://evil.example\",\"点我\")"
    api("ndrc").post(f"/api/v1/bulletins/{created['id']}/review",
                     json={"decision": "approve", "remarks": injected})
    response = api("km-drc").get(f"/api/v1/bulletins/{created['id']}/xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["概况", "按渠道", "按领域", "按州（市）", "按月", "各环节用时", "州（市）排名", "部门排名"]

    ws = wb["概况"]
    assert ws["A1"].value == "2026年9月政府违约失信投诉处置情况通报"
    assert ws["A1"].font.bold
    assert (ws["A2"].value, ws["B2"].value) == ("统计期间", "2026-09-01 至 2026-09-30")
    assert (ws["A3"].value, ws["B3"].value) == ("版本", "第 1 版")
    generated = as_utc(session.get(Bulletin, created["id"]).generated_at).astimezone(SHANGHAI)
    assert (ws["A4"].value, ws["B4"].value) == ("生成时间", f"{generated:%Y-%m-%d %H:%M}（北京时间）")
    assert ws["A5"].value == "审核意见"
    assert ws["B5"].value == "'" + injected
    assert ws["B5"].data_type == "s"
    assert (ws["A6"].value, ws["B6"].value) == ("指标", "数值")
    assert ws["A6"].font.bold
    assert ws["A6"].fill.fgColor.rgb == "001F4E79"
    assert ws.freeze_panes == "A7"
    assert (ws["A7"].value, ws["B7"].value, ws["B7"].number_format) == ("收到投诉（件）", 2, "#,##0")
    assert (ws["A8"].value, ws["B8"].value) == ("受理（件）", 0)
    assert (ws["A13"].value, ws["B13"].number_format) == ("核实认定按时率", "0.0%")
    assert ws.column_dimensions["A"].width >= 20

    ws = wb["按渠道"]
    assert [c.value for c in ws[1]] == ["渠道", "收到", "受理", "不予受理", "合并办理", "待审查"]
    assert [c.value for c in ws[2]] == ["窗口登记", 2, 0, 0, 0, 2]
    assert ws.freeze_panes == "A2"

    ws = wb["州（市）排名"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["排名", "州（市）", "收到投诉", "受理"]
    assert "核实按时率" in header
    assert ws.max_row == 18  # header + 16 prefectures + 省直
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}18"
    rows = {ws.cell(row=r, column=2).value: r for r in range(2, 19)}
    kunming = rows["昆明市"]
    assert ws.cell(row=kunming, column=3).value == 2
    rate_col = header.index("核实按时率") + 1
    assert ws.cell(row=kunming, column=rate_col).number_format == "0.0%"
    assert [ws.cell(row=r, column=1).value for r in range(2, 19)] == list(range(1, 18))
    ws = wb["部门排名"]
    assert [ws.cell(row=2, column=c).value for c in (1, 2, 3)] == [1, "昆明市官渡区商务局", 2]


def test_a_figure_has_the_same_label_in_the_bulletin_and_its_xlsx(app, client, login, api, session: Session,
                                                                   official) -> None:  # noqa: ANN001
    """Labels come from one definition (engine/oversight/figures.py): the bulletin's page and its .xlsx agree."""
    import re

    from engine.oversight.figures import FIGURES, OVERVIEW

    register_complaint(session, dict(COMPLAINT), official("intake"), now=datetime(2026, 9, 3, 2, tzinfo=UTC))
    session.commit()
    created = api("ndrc").post("/api/v1/bulletins", json={"kind": "month", "period_start": "2026-09-01"}).get_json()
    _wait_for_generation(app)
    login("ndrc")
    page = client.get(f"/bulletins/{created['id']}/print").get_data(as_text=True)
    wb = openpyxl.load_workbook(io.BytesIO(api("ndrc").get(f"/api/v1/bulletins/{created['id']}/xlsx").data))
    overview = wb["概况"]
    labels = [overview.cell(row=7 + n, column=1).value for n in range(len(OVERVIEW))]
    assert labels == [FIGURES[key].row_label for key in OVERVIEW]
    page_labels = re.findall(r"<th>([^<]+)</th><td>", page)
    assert page_labels[:len(OVERVIEW)] == [FIGURES[key].label for key in OVERVIEW]
    for xlsx_label, page_label, key in zip(labels, page_labels, OVERVIEW, strict=False):
        assert xlsx_label.startswith(page_label), key  # the xlsx adds the unit: 收到投诉（件）
    ranking = [c.value for c in wb["州（市）排名"][1]][2:]
    assert ranking == list(bulletins.RANK_COLUMNS.values())
    headings = re.search(r'<table class="ranking">\s*<thead><tr><th>排名</th><th>单位</th>(.*?)</tr>', page, re.S)
    assert re.findall(r"<th>([^<]+)</th>", headings.group(1)) == ranking


def test_neutralise_every_formula_prefix() -> None:
    from engine.oversight.xlsx import neutralise

    assert [neutralise(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "正常", 5, None)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "正常", 5, None]


def test_scoring_sheet_validation_and_assessment(client, login, api) -> None:  # noqa: ANN001
    def put(username: str, body: dict):  # noqa: ANN202
        return client.put("/api/v1/assessment/sheet", headers=api(username).headers, json=body)

    login("ndrc")
    base = {"on_time_verification": "30", "rectification": "25", "data_quality": "15", "punishment": "20",
            "repeated_breaches": "10", "repeat_deduction": "20", "note": "2026年考核办法"}
    bad_sum = client.post("/bulletins/assessment/sheet?year=2026", data={**base, "punishment": "10"})
    assert bad_sum.status_code == 422
    assert "各项权重之和应为 100，当前为 90" in bad_sum.get_data(as_text=True)
    negative = client.post("/bulletins/assessment/sheet?year=2026",
                           data={**base, "punishment": "-10", "rectification": "55"})
    assert negative.status_code == 422
    assert "不能为负数" in negative.get_data(as_text=True)
    saved = client.post("/bulletins/assessment/sheet?year=2026", data={**base, "on_time_verification": "40",
                                                                        "rectification": "15"})
    assert saved.status_code == 303
    client.post("/logout")  # from here on the bearer tokens speak
    table = api("km-drc").get("/api/v1/assessment?year=2026").get_json()
    assert table["sheet"]["weights"]["on_time_verification"] == 40
    kinds = [r["kind"] for r in table["rows"]]
    assert kinds.count("prefecture") == 16
    assert kinds.count("department") >= 1
    assert kinds == sorted(kinds, key=lambda k: k != "prefecture")  # prefectures first
    empty = table["rows"][0]
    assert empty["score"] == 100
    assert "按满分计" in empty["formula"]
    denied = put("km-drc", {"year": 2026, "weights": {}})
    assert denied.status_code == 403, denied.get_json()
    saved_api = put("ndrc", {"year": 2027, "weights": {
        "on_time_verification": 50, "rectification": 50, "data_quality": 0, "punishment": 0, "repeated_breaches": 0}})
    assert saved_api.status_code == 200
    wrong = put("ndrc", {"year": 2027, "weights": {"x": 100}})
    assert wrong.status_code == 422
    csv_text = api("km-drc").get("/api/v1/assessment/export?year=2026&format=csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff类别,单位,核实认定按时率")
    assert csv_text.count("\n") == len(table["rows"]) + 1
    xlsx = api("km-drc").get("/api/v1/assessment/export?year=2026")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.data))["考核结果"]
    assert [c.value for c in ws[1]][-2:] == ["得分", "计算公式"]
    assert ws.cell(row=2, column=1).value == "州（市）"
    assert ws.cell(row=2, column=8).number_format == "0.00"
    assert ws.cell(row=2, column=9).value.endswith("按满分计）")


def test_scores_against_hand_computed_values() -> None:
    from engine.oversight.assessment import score_row
    from engine.oversight.models import AssessmentSheet
    from engine.oversight.statistics import RankRow

    sheet = AssessmentSheet(year=2026, weights={"on_time_verification": 30, "rectification": 25, "data_quality": 15,
                                                "punishment": 20, "repeated_breaches": 10}, repeat_deduction=20)
    row = RankRow(key="530100", label="昆明市", verify_due=10, verify_on_time=8, rectified=3, breach_reported=1,
                  breaches_confirmed=4, records_missing=1, records_with_measures=2, deliveries=4,
                  deliveries_late_or_failing=1, repeat_respondents=1)
    scored = score_row("prefecture", row, sheet)
    # 30×0.8 + 25×(3/4) + 15×mean(1−1/4, 1−1/4) + 20×(2/4) + 10×(1−1×0.2) = 24 + 18.75 + 11.25 + 10 + 8
    assert scored.score == 72.0
    assert scored.formula == ("30×80.0% + 25×75.0% + 15×75.0% + 20×50.0% + 10×(1−1×20%)"
                              " = 24.00 + 18.75 + 11.25 + 10.00 + 8.00 = 72.00")
    assert scored.no_data == []
    many = score_row("prefecture", RankRow(key="x", label="x", repeat_respondents=7), sheet)
    assert many.rates["repeated_breaches"] == 0.0
    assert many.score == 90.0
    assert "10×max(0, 1−7×20%)" in many.formula
    assert "*当年无此项数据，按满分计" in many.formula


def test_the_default_year_and_month_are_yunnans_not_the_servers(client, login, api) -> None:  # noqa: ANN001
    """At 01:00 on New Year's Day in Yunnan it is still the old year in UTC: the pages follow Yunnan."""
    login("km-drc")
    with clock.frozen_at(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)):
        assert "2027 年度考核" in client.get("/bulletins/assessment").get_data(as_text=True)
        assert api("km-drc").get("/api/v1/assessment").get_json()["year"] == 2027
        assert api("km-drc").get("/api/v1/assessment/sheet").get_json()["year"] == 2027
        exported = api("km-drc").get("/api/v1/assessment/export?format=csv")
        assert "assessment-2027.csv" in exported.headers["Content-Disposition"]
        login("ndrc")
        assert 'value="2026-12-01"' in client.get("/bulletins/").get_data(as_text=True)  # last month in Yunnan


def test_a_period_that_has_not_ended_is_refused(app, client, login, api) -> None:  # noqa: ANN001
    """October 2026 ends at 24:00 on the 31st in Yunnan (16:00 UTC): until then no bulletin for it, page or API."""
    login("ndrc")
    with clock.frozen_at(datetime(2026, 10, 31, 15, 59, tzinfo=UTC)):
        refused = api("ndrc").post("/api/v1/bulletins", json={"kind": "month", "period_start": "2026-10-01"})
        assert refused.status_code == 400
        assert refused.get_json()["message"] == "该期间尚未结束（截至 2026年10月31日），期满后才能生成通报"
        quarter = api("ndrc").post("/api/v1/bulletins", json={"kind": "quarter", "period_start": "2026-10-01"})
        assert "尚未结束" in quarter.get_json()["message"]
        page = client.post("/bulletins/generate", data={"kind": "month", "period_start": "2026-10-01"},
                           follow_redirects=True)
        assert "该期间尚未结束（截至 2026年10月31日），期满后才能生成通报" in page.get_data(as_text=True)
        assert 'value="2026-09-01"' in page.get_data(as_text=True)  # the form proposes the last ended month
        assert api("ndrc").get("/api/v1/bulletins").get_json()["total"] == 0
    with clock.frozen_at(datetime(2026, 10, 31, 16, 0, tzinfo=UTC)):
        accepted = api("ndrc").post("/api/v1/bulletins", json={"kind": "month", "period_start": "2026-10-01"})
        assert accepted.status_code == 202, accepted.get_json()
    _wait_for_generation(app)
