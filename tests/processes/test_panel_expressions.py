"""The timer and condition forms the modeler's panel generates (web/static/js/process-expressions.js) are what
the deploy checks accept and what the engine's helpers compute: `after(day, n)` and a step-bound
`calendar_days(n)` among them. The browser test (tests/e2e/test_process_panel_browser.py) checks that the
panel's JavaScript generates exactly these forms."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from engine.workflow import specs
from engine.workflow.instances import _step_helpers
from engine.workflow.registry import StepContext
from tests.processes.test_deploy import changed

T0 = datetime(2026, 9, 14, 1, 0, tzinfo=UTC)  # Monday 2026-09-14 09:00 in Yunnan

# what the panel writes for each timer choice (process-expressions.js: timerExpression)
ON_VERIFY = ['reminder("verify", 2)', 'limit("verify")', 'after(limit("verify"), 2)', "workdays(5)",
             "calendar_days(10)", '"2026-10-01T09:00:00+08:00"']
ON_RECTIFICATION = ["before(deadline, 3)", "end_of(deadline)", "after(deadline, 1)"]


@pytest.mark.parametrize("expression", ON_VERIFY)
def test_timer_forms_on_a_task_deploy(expression: str) -> None:
    bundle = changed('<bpmn:timeDate>reminder("verify", 3)</bpmn:timeDate>', f"<bpmn:timeDate>{expression}</bpmn:timeDate>")
    specs.check_bundle(bundle)  # raises InvalidDiagram with the problems


@pytest.mark.parametrize("expression", ON_RECTIFICATION)
def test_timer_forms_on_a_form_date_deploy(expression: str) -> None:
    bundle = changed("<bpmn:timeDate>before(deadline, 3)</bpmn:timeDate>", f"<bpmn:timeDate>{expression}</bpmn:timeDate>")
    specs.check_bundle(bundle)


@pytest.mark.parametrize("condition", ['outcome == "unfounded"', 'outcome != "founded"',
                                       'outcome in ["unfounded"]', 'outcome not in ["founded", "disputed"]'])
def test_condition_forms_deploy(condition: str) -> None:
    bundle = changed('<bpmn:conditionExpression>outcome == "unfounded"</bpmn:conditionExpression>',
                     f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>")
    checked = specs.check_bundle(bundle, acknowledge_warnings=True)
    assert checked.key == "complaint"


def test_a_one_of_condition_keeps_the_gateway_covered() -> None:
    """`outcome in ["disputed"]` beside `== "unfounded"` and `== "founded"` still names every value: no warning."""
    bundle = changed('<bpmn:conditionExpression>outcome == "disputed"</bpmn:conditionExpression>',
                     '<bpmn:conditionExpression>outcome in ["disputed"]</bpmn:conditionExpression>')
    specs.check_bundle(bundle)  # no acknowledgement needed


def test_a_date_comparison_deploys() -> None:
    bundle = changed("<bpmn:conditionExpression>rectified</bpmn:conditionExpression>",
                     '<bpmn:conditionExpression>deadline > "2026-10-01"</bpmn:conditionExpression>')
    specs.check_bundle(bundle, acknowledge_warnings=True)


def test_after_and_calendar_days_count_from_the_step(session: Session) -> None:
    helpers = _step_helpers(StepContext(session, None, None, now=T0))
    # 15 working days from Mon 2026-09-14 end on Saturday 2026-10-10 (a make-up working day)
    assert helpers["limit"]("verify") == "2026-10-10T15:59:59+00:00"
    # two working days after that due day: Mon 12 and Tue 13 October, end of day in Yunnan
    assert helpers["after"](helpers["limit"]("verify"), 2) == "2026-10-13T15:59:59+00:00"
    assert helpers["after"]("2026-09-30", 1) == "2026-10-08T15:59:59+00:00"  # National Day (1–7 October) skipped
    assert helpers["calendar_days"](10) == "2026-09-24T15:59:59+00:00"  # the step's clock, not the wall clock
