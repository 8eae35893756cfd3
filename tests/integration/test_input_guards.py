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


HUGE = [2**31, 2**63, 2**64]


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("path", [
    "/api/v1/complaints/{n}", "/api/v1/complaints/{n}/evidence", "/api/v1/breach-records/{n}",
    "/api/v1/bulletins/{n}", "/api/v1/instances/{n}",
])
def test_ids_beyond_the_column_range_in_api_paths_are_404(api, path: str, number: int) -> None:  # noqa: ANN001
    response = api("ndrc").get(path.format(n=number))
    assert response.status_code == 404, (path, response.get_data(as_text=True))
    assert response.get_json()["message"]


@pytest.mark.parametrize("number", HUGE)
def test_ids_beyond_the_column_range_in_pages_and_anonymous_paths_are_404(client, number: int) -> None:  # noqa: ANN001
    assert client.get(f"/public/typical-cases/{number}").status_code == 404
    assert client.get(f"/public/bulletins/{number}").status_code == 404


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/tasks?complaint_id={n}", "complaint_id"),
    ("/api/v1/audit?complaint_id={n}", "complaint_id"),
    ("/api/v1/audit?offset={n}", "offset"),
    ("/api/v1/breach-records?offset={n}", "offset"),
    ("/api/v1/bulletins?offset={n}", "offset"),
])
def test_integers_beyond_the_range_in_api_queries_are_422(api, path: str, field: str, number: int) -> None:  # noqa: ANN001
    response = api("ndrc").get(path.format(n=number))
    assert response.status_code == 422, (path, response.get_data(as_text=True))
    assert field in response.get_json()["errors"]
    deliveries = api("ndrc").get(f"/api/v1/platform-deliveries?record_id={number}")
    assert deliveries.status_code == 422, deliveries.get_data(as_text=True)


@pytest.mark.parametrize("number", HUGE)
def test_integers_beyond_the_range_in_json_bodies_are_422(api, number: int) -> None:  # noqa: ANN001
    admin = api("procadmin")
    response = admin.post("/api/v1/migrations/preview", json={"source": number, "target": 1})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"] == {"source": "数值超出允许范围（-2147483648 至 2147483647）"}
    listed = admin.post("/api/v1/migrations/preview", json={"source": 1, "target": 1, "instance_ids": [1, number]})
    assert listed.status_code == 422
    assert "instance_ids" in listed.get_json()["errors"]


@pytest.mark.parametrize("number", HUGE)
def test_page_numbers_beyond_the_range_show_a_page(client, demo_password, number: int) -> None:  # noqa: ANN001
    client.post("/login", data={"username": "ndrc", "password": demo_password})
    for path in ("/cases/?page={n}", "/?page={n}", "/audit/?page={n}", "/credit/records?page={n}"):
        assert client.get(path.format(n=number)).status_code == 200, path
    assert client.get(f"/public/breach-records?page={number}").status_code == 200


def test_a_nul_character_in_any_text_field_is_422_naming_the_field(api) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    intake = api("intake")
    for field in ("facts", "contact_person", "agreement_number"):
        response = intake.post("/api/v1/complaints", json={**COMPLAINT, field: "前\x00后"})
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["errors"] == {field: "不能包含空字符（NUL）"}
    assert intake.get("/api/v1/complaints?q=a%00b").status_code in (404, 405, 422)
    audit = api("ndrc").get("/api/v1/audit?action=lo%00gin")
    assert audit.status_code == 422
    assert audit.get_json()["errors"] == {"action": "不能包含空字符（NUL）"}
    assert intake.post("/api/v1/complaints", json=COMPLAINT).status_code == 201  # nothing else is refused


def test_a_nul_character_in_a_page_form_or_the_public_form_is_422(client, demo_password) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    public = client.post("/public/complaints/new", data={**COMPLAINT, "facts": "事实\x00"})
    assert public.status_code == 422
    assert "空字符" in public.get_data(as_text=True)
    client.post("/login", data={"username": "intake", "password": demo_password})
    page = client.post("/cases/new", data={**COMPLAINT, "claims": "诉求\x00"})
    assert page.status_code == 422
    assert "claims" in page.get_data(as_text=True)
    assert client.get("/cases/?q=%00").status_code == 422


def test_a_nul_character_in_a_task_form_is_422(api) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT
    from tests.integration.test_api_smoke import _only_task

    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = _only_task(intake, cid)
    response = intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": False, "reason": "x\x00"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"reason": "不能包含空字符（NUL）"}


@pytest.mark.parametrize("amount", ["1e20", "10000000000000000", "-1e20", 1e20])
def test_amounts_beyond_the_column_precision_are_422(api, amount: object) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    response = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "contract_amount": amount})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "contract_amount" in response.get_json()["errors"]
    fits = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "disputed_amount": "9999999999999999.99"})
    assert fits.status_code == 201, fits.get_data(as_text=True)
