"""Hostile inputs get a 4xx with a Chinese message, never a 500 (issue 18, items 4–7)."""
from __future__ import annotations

import pytest


def test_json_answers_carry_chinese_unescaped(api) -> None:  # noqa: ANN001
    response = api("ndrc").get("/api/v1/tasks?complaint_id=abc")
    assert response.status_code == 422
    raw = response.get_data()
    assert "提交的内容有误".encode() in raw
    assert b"\\u" not in raw
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/api/v1/oversight/figures", "/api/v1/oversight/ranking"])
@pytest.mark.parametrize(("query", "field"), [
    ("end=2000-01-01", "end"),  # before the current quarter, which the missing start would be
    ("start=2099-01-01", "start"),  # after the current quarter's end
    ("start=2001-01-01", "start"),  # the current quarter's end makes it longer than three years
    ("start=0001-01-01&end=0001-01-02", "start"),
    ("start=9999-12-30&end=9999-12-31", "start"),
    ("start=2026-03-01&end=2026-01-01", "end"),
])
def test_oversight_periods_that_cannot_be_computed_are_422(api, path: str, query: str, field: str) -> None:  # noqa: ANN001
    response = api("ndrc").get(f"{path}?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]


def test_the_oversight_page_refuses_the_same_periods(client, demo_password) -> None:  # noqa: ANN001
    browser = client
    browser.post("/login", data={"username": "ndrc", "password": demo_password})
    page = browser.get("/oversight/?end=2000-01-01")
    assert page.status_code == 422
    assert "提交的内容有误" in page.get_data(as_text=True)
