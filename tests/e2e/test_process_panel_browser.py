"""In Chromium: a process administrator sets a boundary timer, a user task's time limit and case status, a
gateway's conditions and a new form field entirely through the modeler's panel and form editor, deploys, and the
deployed version behaves so (the task's due time, the case status, the routing, the timer, the form).
The panel's expression generation is checked against what the server accepts (tests/processes/
test_panel_expressions.py lists the same forms and deploys them)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.db import as_utc
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.services import workdays_before
from engine.workflow import jobs as workflow_jobs
from engine.workflow.diff import diff_bundles
from engine.workflow.models import ProcessInstance
from engine.workflow.specs import Bundle
from tests.e2e.test_process_modeler_browser import page  # noqa: F401 - fixture reused
from tests.e2e.test_process_tools_browser import select_element, sign_in
from tests.integration.test_process_admin import Cases, versions
from tests.processes.test_panel_expressions import ON_RECTIFICATION, ON_VERIFY


def open_modeler(page) -> None:  # noqa: ANN001, F811
    page.goto("/processes/")
    page.click("#process-complaint a:has-text('打开编辑') >> nth=0")
    page.wait_for_selector("#process-modeler[data-ready=true][data-catalog=loaded]")


def fields_loaded(page, element_id: str) -> None:  # noqa: ANN001, F811
    select_element(page, element_id)
    page.wait_for_selector("[data-role=panel][data-fields=loaded]")


@pytest.mark.e2e
def test_panel_generates_only_what_the_server_accepts(page, demo_password: str) -> None:  # noqa: ANN001, F811
    sign_in(page, demo_password)
    open_modeler(page)
    generated = page.evaluate("""() => {
      const X = window.LvyueExpressions;
      const choices = [
        {kind: "limit", key: "verify", when: "before", n: 2}, {kind: "limit", key: "verify", when: "at"},
        {kind: "limit", key: "verify", when: "after", n: 2}, {kind: "workdays", n: 5}, {kind: "days", n: 10},
        {kind: "date", date: "2026-10-01", time: "09:00"},
        {kind: "field", field: "deadline", when: "before", n: 3}, {kind: "field", field: "deadline", when: "at"},
        {kind: "field", field: "deadline", when: "after", n: 1}];
      const timers = choices.map(X.timerExpression);
      return {timers, back: timers.map((t) => X.timerExpression(X.timerChoice(t))),
              bad: [X.timerExpression({kind: "field", field: "__import__('os')"}), X.timerExpression({kind: "workdays", n: -1}),
                    X.timerChoice("workdays(3) + 1"), X.conditionRule('supervisor_lookup["found"]')],
              conditions: [X.conditionExpression({field: "outcome", op: "==", value: "unfounded"}),
                           X.conditionExpression({field: "outcome", op: "!=", value: "founded"}),
                           X.conditionExpression({field: "accepted", op: "==", value: false}),
                           X.conditionExpression({field: "amount", op: ">=", value: 3}),
                           X.conditionExpression({field: "remarks", op: "==", value: 'a "quoted" 文字'}),
                           X.conditionExpression({field: "deadline", op: ">", value: "2026-10-01"})],
              rules: ["not accepted", 'outcome == "founded"', "amount >= 3"].map(X.conditionRule)};
    }""")
    assert generated["timers"] == ON_VERIFY + ON_RECTIFICATION
    assert generated["back"] == generated["timers"]  # each reads back as the choice it came from
    assert generated["bad"] == ["", "", None, None]
    assert generated["conditions"] == ['outcome == "unfounded"', 'outcome != "founded"', "not accepted", "amount >= 3",
                                       'remarks == "a \\"quoted\\" 文字"', 'deadline > "2026-10-01"']
    assert generated["rules"] == [{"field": "accepted", "op": "==", "value": False},
                                  {"field": "outcome", "op": "==", "value": "founded"},
                                  {"field": "amount", "op": ">=", "value": 3}]
    listed = page.evaluate("""() => {
      const X = window.LvyueExpressions;
      return {made: [X.conditionExpression({field: "outcome", op: "in", value: ["unfounded"]}),
                     X.conditionExpression({field: "outcome", op: "not in", value: ["founded", "disputed"]}),
                     X.conditionExpression({field: "outcome", op: "in", value: []}),
                     X.conditionExpression({field: "outcome", op: "==", value: ["founded"]})],
              rules: ['outcome in ["unfounded"]', 'outcome not in ("founded", "disputed",)', "outcome in [x]",
                      'outcome in ["a", __import__("os")]'].map(X.conditionRule)};
    }""")
    # the same forms tests/processes/test_panel_expressions.py deploys; what is no list of literals stays 高级
    assert listed["made"] == ['outcome in ["unfounded"]', 'outcome not in ["founded", "disputed"]', "", ""]
    assert listed["rules"] == [{"field": "outcome", "op": "in", "value": ["unfounded"]},
                               {"field": "outcome", "op": "not in", "value": ["founded", "disputed"]}, None, None]


@pytest.mark.e2e
def test_timer_limit_status_condition_and_form_field_through_the_panel(page, api, app, demo_password: str) -> None:  # noqa: ANN001, F811, PLR0915
    sign_in(page, demo_password)
    open_modeler(page)
    before = max(versions(api))

    # a user task's time limit and case status, picked by Chinese label
    select_element(page, "screening")
    assert page.input_value("#panel-time-limit") == "screen"
    assert page.input_value("#panel-case-status") == "screening"
    assert "核实认定中" in page.inner_text("#panel-case-status")
    page.select_option("#panel-time-limit", "verify")
    page.select_option("#panel-case-status", label="待转交")

    # a boundary timer: the diagram gets an event on the task (what the context pad does), the panel makes it
    # a timer 1 working day before the task's time limit runs out
    page.locator("#process-modeler").evaluate("""(root) => {
      const m = root.lvModeler, registry = m.get("elementRegistry"), modeling = m.get("modeling");
      const task = registry.get("screening");
      const event = modeling.createShape({type: "bpmn:BoundaryEvent"}, {x: task.x + 20, y: task.y + task.height},
                                         task, {attach: true});
      modeling.appendShape(event, {type: "bpmn:EndEvent"}, {x: task.x + 40, y: task.y + task.height + 90});
      m.get("selection").select(event);
    }""")
    page.click("[data-role=panel-make-timer]")
    page.wait_for_selector("#panel-timer-kind")
    assert page.is_checked("#panel-timer-interrupting")
    page.fill("#panel-name", "受理审查将满（测试）")
    page.press("#panel-name", "Tab")
    page.select_option("#panel-timer-kind", "limit")
    page.select_option("#panel-timer-limit", "verify")
    page.select_option("#panel-timer-when", "before")
    page.fill("#panel-timer-n", "1")
    page.press("#panel-timer-n", "Tab")
    assert page.input_value("#panel-timer-expression") == 'reminder("verify", 1)'

    # an existing timer reads back as its choice; nothing is written by looking at it
    select_element(page, "verify_overdue")
    assert page.input_value("#panel-timer-kind") == "limit"
    assert page.input_value("#panel-timer-when") == "at"

    # what 核实认定's page shows side by side: the screening decision too
    select_element(page, "verify")
    page.click("summary:has-text('对照显示的前序决定')")
    page.check("#panel-compare-screening")

    # conditions: the screening gateway's two flows swapped, by field + comparison + value
    fields_loaded(page, "flow_03_gw_accepted_notify_rejected")
    assert page.input_value("#panel-cond-field") == "accepted"
    assert page.inner_text("#panel-cond-value option:checked") == "不予受理"
    page.select_option("#panel-cond-value", label="受理")
    assert page.input_value("#panel-condition") == "accepted"
    fields_loaded(page, "flow_06_gw_accepted_forward_to_supervisor")
    assert "审查结论（accepted） — 受理审查" in page.inner_text("#panel-cond-field")
    page.select_option("#panel-cond-value", label="不予受理")
    assert page.input_value("#panel-condition") == "not accepted"

    # a new required field on the screening form, through the field list
    page.click("summary:has-text('表单编辑与预览')")
    page.select_option("#form-pick", "screening.json")
    page.fill("[data-role=field-new-name]", "内部")
    page.click("[data-role=field-add]")
    assert "只能由英文字母" in page.inner_text("[data-role=field-new-problem]")
    page.fill("[data-role=field-new-name]", "ref_note")
    page.fill("[data-role=field-new-title]", "内部编号备注")
    page.click("[data-role=field-add]")
    row = page.locator("fieldset[data-field=ref_note]")
    row.locator("[data-role=field-required]").check()
    row.locator("[data-role=field-help]").fill("填写登记簿上的内部编号")
    row.locator("[data-role=field-help]").press("Tab")
    page.wait_for_selector("[data-role=form-preview] :text('填写登记簿上的内部编号')")

    page.fill("#deploy-comment", "浏览器测试：面板设置定时器、时限、状态、条件和字段")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector(".modeler-result.success:has-text('已部署为 complaint')")
    latest = max(versions(api))
    assert latest == before + 1
    xml = api("procadmin").get(f"/api/v1/processes/complaint/versions/{latest}").get_json()["bpmn_xml"]
    assert 'reminder("verify", 1)' in xml
    assert '<spiffworkflow:property name="compareWith" value="screening" />' in xml

    cases = Cases(api, app, False)
    routed = cases.start()
    assert cases.status(routed) == "forwarding"  # the case status the panel set
    task = api("intake").get(f"/api/v1/tasks/{cases.task(routed, 'intake')['id']}").get_json()
    assert task["form"]["required"] == ["accepted", "ref_note"]
    assert task["form"]["properties"]["ref_note"]["description"] == "填写登记簿上的内部编号"
    refused = api("intake").post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True})
    assert refused.status_code == 422
    assert "ref_note" in refused.get_json()["errors"]
    assert "15个工作日" in task["due_basis"]  # the verification limit now, not screening's
    with app.app_context():
        from web.extensions import db

        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == routed))
        due = as_utc(db.session.get(type(instance), instance.id).next_timer_at)
        from engine.workflow.models import HumanTask

        human = db.session.get(HumanTask, task["id"])
        assert due == workdays_before(as_utc(human.due_at), 1, WorkCalendar(db.session))
    cases.complete(routed, "screening", "intake", {"accepted": True, "ref_note": "内-001"})
    body = api("intake").get(f"/api/v1/complaints/{routed}").get_json()
    assert (body["status"], body["result"]) == ("closed", "rejected")  # the swapped conditions route

    waiting = cases.start()
    with app.app_context():
        from web.extensions import db

        assert workflow_jobs.tick(db.session, now=due + timedelta(seconds=1)) >= 1
    assert api("intake").get(f"/api/v1/tasks?complaint_id={waiting}").get_json()["total"] == 0  # interrupted


@pytest.mark.e2e
def test_looking_through_the_panel_and_saving_changes_no_behaviour(page, api, demo_password: str) -> None:  # noqa: ANN001, F811
    sign_in(page, demo_password)
    open_modeler(page)
    for element_id in ("screening", "verify", "report_rectification", "notify_rejected", "gw_outcome"):
        select_element(page, element_id)
        page.wait_for_selector(f"[data-role=panel] h3:has-text('{element_id}')")
    for element_id in ("verify_reminder", "verify_overdue", "rectify_reminder", "rectify_overdue"):
        select_element(page, element_id)
        page.wait_for_selector("#panel-timer-kind")
    for element_id in ("flow_03_gw_accepted_notify_rejected", "flow_15_gw_outcome_notify_unfounded"):
        fields_loaded(page, element_id)
        page.wait_for_selector("#panel-cond-field")
    select_element(page, "forward_to_supervisor")
    assert page.input_value("#panel-result-variable") == "supervisor_lookup"
    select_element(page, "excuse_rule")
    assert page.input_value("#panel-decision") == "excuse_never_unfounded"
    select_element(page, "review_rectification")
    assert page.is_checked("#panel-compare-order_rectification")
    assert page.is_checked("#panel-compare-report_rectification")
    assert not page.is_checked("#panel-compare-screening")
    select_element(page, "rectify_reminder")
    assert page.input_value("#panel-timer-kind") == "field"
    page.wait_for_selector("[data-role=panel][data-fields=loaded]")
    assert page.input_value("#panel-timer-field") == "deadline"
    assert "整改期限" in page.inner_text("#panel-timer-field option:checked")
    page.click("summary:has-text('表单编辑与预览')")
    for form in ("screening.json", "verify.json", "order_rectification.json"):
        page.select_option("#form-pick", form)
        page.wait_for_selector("fieldset.form-field >> nth=0")
    saved = page.locator("#process-modeler").evaluate(
        "async (root) => ({xml: (await root.lvModeler.saveXML({format: true})).xml,"
        " forms: JSON.parse(root.querySelector('[data-role=forms]').value)})")
    stored = api("procadmin").get(f"/api/v1/processes/complaint/versions/{max(versions(api))}").get_json()
    result = diff_bundles(Bundle(stored["bpmn_xml"], dmn=stored["dmn"], forms=stored["forms"]),
                          Bundle(saved["xml"], dmn=stored["dmn"], forms=saved["forms"]))
    assert result["elements"] == {"added": [], "removed": [], "changed": []}
    assert not result["behaviour_changed"]
    assert saved["forms"] == stored["forms"]


@pytest.mark.e2e
def test_panel_and_field_list_fit_a_390_px_phone(page, demo_password: str) -> None:  # noqa: ANN001, F811
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo_password)
    open_modeler(page)
    select_element(page, "verify_reminder")
    page.wait_for_selector("#panel-timer-kind")
    fits = "() => document.documentElement.scrollWidth <= 390"
    assert page.evaluate(fits)
    assert page.locator("[data-role=panel]").bounding_box()["width"] > 300  # below the diagram, full width
    for role in ("#panel-timer-kind", "#panel-timer-limit", "#panel-timer-when", "#panel-timer-n"):
        box = page.locator(role).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390, role
    fields_loaded(page, "flow_15_gw_outcome_notify_unfounded")
    assert page.inner_text("#panel-cond-value option:checked") == "不属实"
    assert page.evaluate(fits)
    page.click("summary:has-text('表单编辑与预览')")
    page.select_option("#form-pick", "verify.json")
    page.wait_for_selector("fieldset[data-field=outcome]")
    assert page.input_value("fieldset[data-field=outcome] [data-role=field-choices]") == \
        "founded=属实\nunfounded=不属实\ndisputed=有分歧"
    assert page.evaluate(fits)


@pytest.mark.e2e
def test_one_of_condition_and_task_scripts_through_the_panel(page, api, app, demo_password: str) -> None:  # noqa: ANN001, F811
    """属于其中之一 as checkboxes of the field's choices, and a task's post-script, set in the panel, deployed and run."""
    sign_in(page, demo_password)
    open_modeler(page)
    before = max(versions(api))

    fields_loaded(page, "flow_16_gw_outcome_resolve_dispute")
    assert page.input_value("#panel-cond-op") == "=="
    page.select_option("#panel-cond-op", label="属于其中之一")
    assert page.is_checked("[data-role=panel-cond-values] input >> nth=2")  # 有分歧 kept as the one value
    assert page.input_value("#panel-condition") == 'outcome in ["disputed"]'
    page.uncheck("[data-role=panel-cond-values] input >> nth=2")
    assert "请至少勾选一个值" in page.inner_text("[data-role=panel-cond-values]")
    assert page.input_value("#panel-condition") == 'outcome in ["disputed"]'  # left as it was meanwhile
    page.check("[data-role=panel-cond-values] input >> nth=2")
    fields_loaded(page, "flow_16_gw_outcome_resolve_dispute")  # read back from the diagram
    assert page.input_value("#panel-cond-op") == "in"
    assert page.is_checked("[data-role=panel-cond-values] input >> nth=2")
    assert not page.is_checked("[data-role=panel-cond-values] input >> nth=0")

    select_element(page, "verify")
    page.click("[data-role=panel-scripts] summary")
    page.fill("#panel-post-script", 'verify_note = "核实：" + outcome')
    page.press("#panel-post-script", "Tab")
    select_element(page, "screening")
    select_element(page, "verify")  # read back: the section opens with the script in it
    assert page.input_value("#panel-post-script") == 'verify_note = "核实：" + outcome'
    assert page.input_value("#panel-pre-script") == ""

    page.fill("#deploy-comment", "浏览器测试：属于其中之一与完成后脚本")
    page.click("button:has-text('部署为新版本')")
    page.wait_for_selector(".modeler-result.success:has-text('已部署为 complaint')")
    latest = max(versions(api))
    assert latest == before + 1
    xml = api("procadmin").get(f"/api/v1/processes/complaint/versions/{latest}").get_json()["bpmn_xml"]
    assert 'outcome in ["disputed"]' in xml
    assert "<spiffworkflow:postScript>verify_note" in xml

    cases = Cases(api, app, False)
    disputed = cases.start()
    cases.complete(disputed, "screening", "intake", {"accepted": True})
    cases.complete(disputed, "verify", "km-commerce", {"outcome": "disputed", "explanation": "双方对协议条款理解不一"})
    assert cases.status(disputed) == "negotiating"  # routed by 属于其中之一 to 协调分歧
    import json

    state = json.dumps(json.loads(cases.instance(disputed).state), ensure_ascii=False)
    assert '"verify_note": "核实：disputed"' in state  # the post-script ran after 核实认定
    assert api("km-commerce").get(f"/api/v1/tasks?complaint_id={disputed}").get_json()["total"] == 0
