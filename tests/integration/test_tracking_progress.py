"""The complainant's 办件进度 on the public tracking page: the public milestones of one case walked along the
breach path, the step now open with its time limit and due day in working days; internal notes never shown;
a closed case takes no more 补正 answers."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from engine.deadlines.milestones import MILESTONES
from engine.intake.supplements import request_supplement
from engine.workflow import clock
from tests.processes.conftest import ComplaintRun

INTERNAL = ("属于受理范围", "经核实，扶持资金确未兑现", "30 日内兑现扶持资金", "内部意见：资金未落实",
            "云发改信用〔2026〕21号", "协议第五条", "完成「")  # remarks, explanations, requirements, report numbers


def _page(client, run: ComplaintRun) -> str:  # noqa: ANN001
    with clock.frozen_at(run.now):
        response = client.post("/public/track", data={"tracking_code": run.complaint.tracking_code,
                                                      "phone_last4": "1234"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in INTERNAL:
        assert text not in html, text
    return html


def _milestones(html: str) -> list[str]:
    block = re.search(r'<ol class="milestones" id="track-milestones">(.*?)</ol>', html, re.S).group(1)
    items = re.findall(r"<strong>(.*?)</strong>(?:<span class=\"milestone-detail\">：(.*?)</span>)?", block)
    return [f"{label}：{detail}" if detail else label for label, detail in items]


def _step(html: str) -> str:
    found = re.search(r'<div class="current-step[^"]*" id="current-step">(.*?)</div>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def test_milestones_along_the_breach_path(client, session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    run.register()  # Mon 2026-03-02 10:00 in Yunnan
    html = _page(client, run)
    assert _milestones(html) == ["已收到投诉"]
    # 受理审查: 7 working days from Mon 2 March → Wed 11 March
    step = _step(html)
    assert "当前环节 受理审查" in step
    assert "云南省发展和改革委员会（信用处）" in step
    assert "办理时限：受理审查：7个工作日" in step
    assert "应于 2026-03-11 前办结（剩余 7 个工作日）" in step
    request = request_supplement(session, run.complaint, official("intake"), "请补充协议原件扫描件")
    session.commit()

    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"})
    html = _page(client, run)
    assert _milestones(html) == ["已收到投诉", "已受理", "已转交认定部门：昆明市商务局"]
    assert "当前环节 核实认定 · 昆明市商务局" in _step(html)

    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"})
    run.complete("order_rectification", "km-commerce",
                 {"deadline": "2026-04-30", "requirements": "30 日内兑现扶持资金"})
    html = _page(client, run)
    assert _milestones(html)[-2:] == ["核实结论：经核实，投诉反映的情况属实", "已督促整改：整改期限：2026-04-30"]
    step = _step(html)
    assert "当前环节 报告整改情况 · 昆明市官渡区商务局" in step
    assert "应于 2026-04-30 前办结" in step

    run.complete("report_rectification", "guandu-commerce", {"completed": False, "measures": "资金尚未落实"})
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "内部意见：资金未落实"})
    run.complete("confirm_breach_task", "km-commerce",
                 {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现"})
    step = _step(_page(client, run))
    assert "当前环节 复核并上报国家发展改革委" in step
    assert "剩余 5 个工作日" in step
    run.complete("ndrc_review", "ndrc2", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})

    html = _page(client, run)
    assert _milestones(html) == [
        "已收到投诉", "已受理", "已转交认定部门：昆明市商务局", "核实结论：经核实，投诉反映的情况属实",
        "已督促整改：整改期限：2026-04-30", "被投诉主体已报告整改情况", "整改结果：拒不整改或整改不到位",
        "违约失信已确认并上报", "办结：已确认违约失信并上报"]
    assert _step(html) == ""  # closed: no step open
    # the request for material asked before the close is not answerable any more
    assert f'action="/public/track/supplements/{request.id}"' not in html
    assert "案件已办结，无需再补正" in html
    answer = client.post(f"/public/track/supplements/{request.id}", data={"answer_text": "补充材料"})
    assert answer.status_code == 409
    assert "案件已办结" in answer.get_data(as_text=True)


def test_every_rule_names_a_known_event_kind_and_task() -> None:
    """The rules speak of events the engine writes and tasks the bundled diagram has (a typo would hide a step)."""
    from pathlib import Path

    bpmn = (Path(__file__).resolve().parents[2] / "processes" / "complaint.bpmn").read_text(encoding="utf-8")
    for rule in MILESTONES:
        assert rule.kind in {"registered", "task_completed", "forwarded", "merged", "reopened", "case_corrected",
                             "closed"}, rule
        if rule.task is not None:
            assert f'<bpmn:userTask id="{rule.task}"' in bpmn, rule
