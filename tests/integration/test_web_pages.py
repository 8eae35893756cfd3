"""The officials' browser pages through the Flask test client: register, inbox, task forms, case page."""
from __future__ import annotations

import re

from tests.conftest import COMPLAINT_FORM

FORM = {**COMPLAINT_FORM, "legal_representative": "王总", "contact_address": "昆明市官渡区", "respondent_name": "",
        "agreement_date": "2024-03-01", "contract_amount": "3000000", "disputed_amount": ""}


def _register(client) -> int:  # noqa: ANN001
    response = client.post("/cases/new", data=FORM)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.search(r"/cases/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def _task_ids(client) -> list[str]:  # noqa: ANN001
    page = client.get("/").get_data(as_text=True)
    return re.findall(r'href="/tasks/([0-9a-f-]{36})"', page)


def test_inbox_requires_sign_in(client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_register_screen_and_verify_through_pages(client, login) -> None:
    login("intake")
    form = client.get("/cases/new")
    assert form.status_code == 200
    assert "统一社会信用代码" in form.get_data(as_text=True)
    assert "昆明市官渡区商务局" in form.get_data(as_text=True)

    cid = _register(client)
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "投诉已登记，受理编号 YN" in page
    assert "受理审查" in page
    assert "张受理" in page

    inbox = client.get("/").get_data(as_text=True)
    assert "云南滇信科技有限公司" in inbox
    assert "昆明市官渡区商务局" in inbox
    task_id = _task_ids(client)[0]
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="accepted"' in task_page
    assert "不予受理" in task_page
    assert "审查投诉是否属于政府违约失信投诉受理范围" in task_page  # the form's description

    refused = client.post(f"/tasks/{task_id}", data={"accepted": "false", "reason": ""})
    assert refused.status_code == 422
    assert "不予受理时必须选择原因" in refused.get_data(as_text=True)

    done = client.post(f"/tasks/{task_id}", data={"accepted": "true", "reason": "", "remarks": "材料齐全"},
                       follow_redirects=True)
    assert done.status_code == 200
    assert "已提交" in done.get_data(as_text=True)

    login("km-commerce")
    ids = _task_ids(client)
    assert ids, "the supervisor's inbox shows the verify task"
    verify = ids[0]
    page = client.get(f"/tasks/{verify}").get_data(as_text=True)
    assert "机构调整、人员变动" in page  # the rule is explained on the form
    bad = client.post(f"/tasks/{verify}", data={"outcome": "unfounded", "respondent_reason": "staff_change",
                                                "explanation": "换届后无人负责"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "人员变动为由不履约的" in text
    assert "换届后无人负责" in text  # submitted values are kept
    assert re.search(r'value="staff_change"\s+selected', text)
    ok = client.post(f"/tasks/{verify}", data={"outcome": "founded", "explanation": "属实"})
    assert ok.status_code == 303

    history = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "完成「核实认定」" in history
    assert "孙商务" in history


def test_intake_form_shows_engine_messages(client, login) -> None:
    login("intake")
    response = client.post("/cases/new", data={**FORM, "complainant_uscc": "91440101MA5CJQ4N58",
                                                "contact_person": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="err-complainant_uscc"' in text
    assert 'id="err-contact_person"' in text
    assert "此项为必填项" in text
    assert "官渡区招商引资项目投资协议" in text  # values kept


def test_officials_without_intake_role_cannot_register(client, login) -> None:
    login("km-commerce")
    assert client.get("/cases/new").status_code == 403
    assert "登记投诉" not in client.get("/").get_data(as_text=True)


def test_other_department_gets_403_on_task(client, login) -> None:
    login("intake")
    cid = _register(client)
    task_id = _task_ids(client)[0]
    login("guandu-commerce")
    assert client.get(f"/tasks/{task_id}").status_code == 403
    assert client.post(f"/tasks/{task_id}", data={"accepted": "true"}).status_code == 403
    assert client.get(f"/cases/{cid}").status_code == 403
    assert client.get(f"/cases/{cid}/diagram").status_code == 403


def test_claim_and_unclaim(client, login) -> None:
    login("intake")
    _register(client)
    client.post(f"/tasks/{_task_ids(client)[0]}", data={"accepted": "true"})
    login("km-commerce")
    task_id = _task_ids(client)[0]
    claimed = client.post(f"/tasks/{task_id}/claim", data={"next": "/?claimed=me"}, follow_redirects=True)
    text = claimed.get_data(as_text=True)
    assert "已认领该任务" in text
    assert task_id in text
    assert "孙商务" in text
    assert task_id not in client.get("/?claimed=unclaimed").get_data(as_text=True)

    login("km-commerce-lead")  # same department, another official
    assert task_id in client.get("/?claimed=others").get_data(as_text=True)
    again = client.post(f"/tasks/{task_id}/claim", follow_redirects=True)
    assert "该任务已被他人认领或处理" in again.get_data(as_text=True)
    blocked = client.post(f"/tasks/{task_id}", data={"outcome": "founded", "explanation": "属实"},
                          follow_redirects=True)
    assert blocked.status_code == 403
    assert "该任务已由 孙商务 认领" in blocked.get_data(as_text=True)

    login("km-commerce")
    back = client.post(f"/tasks/{task_id}/unclaim", follow_redirects=True)
    assert "已退回认领" in back.get_data(as_text=True)
    assert task_id in client.get("/?claimed=unclaimed").get_data(as_text=True)


def test_case_list_and_diagram(client, login) -> None:
    login("intake")
    cid = _register(client)
    assert "云南滇信科技有限公司" in client.get("/cases/").get_data(as_text=True)
    task_id = _task_ids(client)[0]
    client.post(f"/tasks/{task_id}", data={"accepted": "true"})
    twice = client.post(f"/tasks/{task_id}", data={"accepted": "true"}, follow_redirects=True)
    assert "该任务已办理完毕" in twice.get_data(as_text=True)
    assert "已于" in client.get(f"/tasks/{task_id}").get_data(as_text=True)  # read-only once done
    body = client.get(f"/cases/{cid}/diagram").get_json()
    assert body["xml"].lstrip().startswith("<?xml")
    assert 'name="被投诉主体的上级部门或主管部门（认定部门）"' in body["xml"]  # lanes by label, not role code
    assert 'name="supervisor"' not in body["xml"]
    assert "screening" in body["completed"]
    assert "verify" in body["current"]  # with its waiting boundary timers
    assert "verify" not in body["completed"]
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "js/case-diagram.js" in page
    assert "核实认定中" in page


def test_inbox_pages_keep_the_filters(client, login, api, monkeypatch) -> None:  # noqa: ANN001
    import web.inbox
    from tests.conftest import COMPLAINT

    monkeypatch.setattr(web.inbox, "PAGE_SIZE", 2)
    for n in range(3):
        assert api("intake").post("/api/v1/complaints", json={**COMPLAINT, "agreement_number": f"P-{n}"}).status_code == 201
    login("intake")
    first = client.get("/", query_string={"lane": "intake", "sort": "due"}).get_data(as_text=True)
    assert "第 1 / 2 页" in first
    assert "上一页" not in first
    [link] = re.findall(r'<a href="([^"]+)">下一页</a>', first)
    assert "lane=intake" in link
    assert "page=2" in link
    second = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "第 2 / 2 页" in second
    assert "下一页" not in second
    assert re.search(r'<a href="[^"]*lane=intake[^"]*">上一页</a>', second)
