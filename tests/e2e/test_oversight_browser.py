"""The 统计调度 dashboard in Chromium: ECharts (served by the app, under the CSP) draws the prefecture tiles."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engine.org.models import Official
from tests.e2e.conftest import ECHARTS
from tests.integration.oversight_data import build

INK = """(id) => {
  const canvas = document.querySelector(id + ' canvas');
  const ctx = canvas.getContext('2d');
  const {data} = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const colours = new Set();
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) { inked++; }
    if (i % 64 === 0) { colours.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2]); }
  }
  return {inked, colours: colours.size, width: canvas.width, height: canvas.height};
}"""


def _problems(tab, problems: list[str]) -> None:  # noqa: ANN001
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)


@pytest.fixture
def browser_page(open_tab):  # noqa: ANN001, ANN201
    return open_tab(requires=(ECHARTS,), watch=_problems, viewport={"width": 1280, "height": 900})


@pytest.mark.e2e
def test_the_dashboard_draws_its_charts(browser_page, session: Session, official: Callable[[str], Official],  # noqa: ANN001
                                        browser_login, tmp_path: Path) -> None:
    data = build(session, official)
    page = browser_page
    browser_login(page, "ndrc")
    page.click("header >> text=统计调度")
    page.goto("/oversight/?start=2026-01-01&end=2026-03-31")
    page.wait_for_selector("#oversight[data-drawn=true]", state="attached")

    tiles = page.evaluate("() => window.lvyueCharts.map.getOption().series[0].data.length")
    assert tiles == 16
    received = page.evaluate("() => window.lvyueCharts.map.getOption().series[0].data"
                             ".filter(d => d.code === '530100')[0].value[2]")
    assert received == 3  # 昆明: A, B, G — the same number as the table beside it
    ink = page.evaluate(INK, "#chart-map")
    assert ink["width"] > 0
    assert ink["inked"] > 1000  # drawn, not blank
    assert ink["colours"] > 3
    for chart in ("stacked", "trend", "channels", "stages", "overdue"):
        assert page.evaluate(f"() => window.lvyueCharts['{chart}'].getOption().series.length") > 0, chart
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    page.click("button[data-map-metric=on_time_rate]")
    assert page.evaluate("() => window.lvyueCharts.map.getOption().series[0].name") == "按期核实率"
    assert page.get_attribute("button[data-map-metric=on_time_rate]", "aria-pressed") == "true"

    page.click("#table-prefectures a[href*='prefecture=530100'][href*='figure=received']")
    page.wait_for_selector("h1:has-text('收到投诉')")
    listed = set(page.locator("table code").all_inner_texts())
    assert listed == {data.cases[n].tracking_code for n in ("A", "B", "G")}
