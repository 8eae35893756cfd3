"""Department and user administration through the browser and the sync API: create, edit, move, deactivate
(history kept, claims back to the inbox, tokens revoked, no more sign-in), reactivate, password policy; every
action audited with the values before and after."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.audit.models import AuditEvent
from engine.org.models import Official
from engine.workflow.models import HumanTask
from tests.conftest import COMPLAINT

GOOD_PASSWORD = "Yunnan2026temp"


def _signed_in(app, username: str, password: str):  # noqa: ANN001, ANN202
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    return client


@pytest.fixture
def admin_client(app, demo_password, bundled_model_ids):  # noqa: ANN001, ANN201
    return _signed_in(app, "sysadmin", demo_password)


def _events(app, action: str) -> list[AuditEvent]:  # noqa: ANN001
    from web.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _new_user(admin_client, username: str = "km-temp", department: str = "km-commerce", **extra: Any):  # noqa: ANN001, ANN202
    form = {"username": username, "full_name": "临时经办", "email": f"{username}@lvyue.example",
            "department": department, "roles": ["official"], "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD,
            **extra}
    return admin_client.post("/admin/users/new", data=form)


def test_departments_are_created_edited_and_listed_for_sync(app, admin_client, api) -> None:  # noqa: ANN001
    bad = admin_client.post("/admin/departments/new", data={
        "code": "KM Bad", "name": "", "level": "county", "division_code": "53011", "superior": "no-such"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    for message in ("小写字母、数字或连字符", "请填写部门名称", "6 位数字", "没有该上级部门"):
        assert message in page
    created = admin_client.post("/admin/departments/new", data={
        "code": "km-xishan-commerce", "name": "昆明市西山区商务局", "level": "county", "division_code": "530112",
        "prefecture_code": "530100", "superior": "km-commerce", "uscc": "11530112087176331J", "is_active": "true"})
    assert created.status_code == 303
    assert "km-xishan-commerce" in admin_client.get("/admin/departments?q=西山").get_data(as_text=True)

    edited = admin_client.post("/admin/departments/km-xishan-commerce", data={
        "name": "昆明市西山区商务局（改）", "level": "county", "division_code": "530112", "prefecture_code": "530100",
        "superior": "km-commerce", "uscc": "11530112087176331J"})  # no is_active box: deactivated
    assert edited.status_code == 303
    [update] = _events(app, "department_updated")
    assert update.before["name"] == "昆明市西山区商务局"
    assert update.after["name"] == "昆明市西山区商务局（改）"
    assert (update.before["is_active"], update.after["is_active"]) == (True, False)
    assert _events(app, "department_created")[0].after["superior"] == "km-commerce"

    body = api("sysadmin").get("/api/v1/departments?q=xishan").get_json()
    assert body["total"] == 1
    assert body["items"][0] == {
        "code": "km-xishan-commerce", "name": "昆明市西山区商务局（改）", "uscc": "11530112087176331J", "level": "county",
        "division_code": "530112", "prefecture_code": "530100", "superior_code": "km-commerce",
        "is_credit_lead": False, "is_active": False}
    assert api("ndrc").get("/api/v1/departments").status_code == 403


def test_new_user_password_policy_and_the_paged_user_list(app, admin_client, api) -> None:  # noqa: ANN001
    weak = _new_user(admin_client, password="short1", password2="short1")
    assert weak.status_code == 422
    assert "密码至少 10 个字符" in weak.get_data(as_text=True)
    with_name = _new_user(admin_client, password="km-temp2026x", password2="km-temp2026x")
    assert "密码不能包含用户名" in with_name.get_data(as_text=True)
    mismatch = _new_user(admin_client, password2=GOOD_PASSWORD + "x")
    assert "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    no_roles = _new_user(admin_client, roles=[])
    assert "请至少选择一个角色" in no_roles.get_data(as_text=True)
    assert _new_user(admin_client).status_code == 303
    assert "已被使用" in _new_user(admin_client).get_data(as_text=True)
    _signed_in(app, "km-temp", GOOD_PASSWORD)
    [created] = _events(app, "official_created")
    assert created.after == {"username": "km-temp", "full_name": "临时经办", "email": "km-temp@lvyue.example",
                             "department": "km-commerce", "roles": ["official"], "is_active": True}
    assert "password" not in str(created.after)

    sync = api("sysadmin")
    first = sync.get("/api/v1/users?limit=5").get_json()
    second = sync.get("/api/v1/users?limit=5&offset=5").get_json()
    assert first["total"] == second["total"] >= 24
    assert len(first["items"]) == len(second["items"]) == 5
    assert {u["username"] for u in first["items"]}.isdisjoint(u["username"] for u in second["items"])
    mine = sync.get("/api/v1/users?department=km-commerce&q=temp").get_json()["items"]
    assert [(u["username"], u["department_code"], u["roles"], u["is_active"]) for u in mine] == [
        ("km-temp", "km-commerce", ["official"], True)]
    assert "password_hash" not in str(first)


def test_deactivation_keeps_history_returns_claims_revokes_tokens_and_ends_sessions(  # noqa: ANN001
        app, admin_client, api) -> None:
    from engine.org.services import create_token
    from web.extensions import db

    assert _new_user(admin_client).status_code == 303
    session_client = _signed_in(app, "km-temp", GOOD_PASSWORD)
    with app.app_context():
        temp = db.session.scalar(select(Official).where(Official.username == "km-temp"))
        token = create_token(db.session, temp, "sync")
        db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    screening = api("intake").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    api("intake").post(f"/api/v1/tasks/{screening['id']}/complete", json={"accepted": True})
    verify = app.test_client().get(f"/api/v1/tasks?complaint_id={cid}", headers=bearer).get_json()["items"][0]
    assert app.test_client().post(f"/api/v1/tasks/{verify['id']}/claim", headers=bearer).status_code == 200

    page = admin_client.get("/admin/users/km-temp").get_data(as_text=True)
    assert "已认领未办结的任务 1 件" in page
    assert admin_client.post("/admin/users/km-temp/deactivate", data={"reason": "调离本单位"}).status_code == 303

    with app.app_context():
        task = db.session.get(HumanTask, verify["id"])
        assert task.claimed_by_id is None  # back in 昆明市商务局's inbox, unclaimed
        assert db.session.scalar(select(Official.is_active).where(Official.username == "km-temp")) is False
    unclaimed = api("km-commerce").get(f"/api/v1/tasks?complaint_id={cid}&claimed=unclaimed").get_json()
    assert unclaimed["total"] == 1
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401
    ended = session_client.get("/cases/")
    assert ended.status_code == 302
    assert "/login" in ended.headers["Location"]
    refused = app.test_client().post("/login", data={"username": "km-temp", "password": GOOD_PASSWORD})
    assert "用户名或密码不正确" in refused.get_data(as_text=True)

    [event] = _events(app, "official_deactivated")
    assert (event.before["is_active"], event.after["is_active"]) == (True, False)
    assert event.after["reason"] == "调离本单位"
    assert event.after["claims_returned"] == [verify["id"]]
    assert len(event.after["tokens_revoked"]) == 1
    [returned] = [e for e in _events(app, "task_unclaimed") if e.object_id == verify["id"]]
    assert returned.after == {"claimed_by": None, "reason": "账户停用"}
    assert returned.actor_label.startswith("sysadmin ")
    claimed = _events(app, "task_claimed")  # the history still names who claimed it
    assert claimed[-1].actor_label.startswith("km-temp ")

    assert admin_client.post("/admin/users/km-temp/reactivate").status_code == 303
    _signed_in(app, "km-temp", GOOD_PASSWORD)
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401  # tokens stay revoked
    assert [e.after["is_active"] for e in _events(app, "official_reactivated")] == [True]


def test_move_between_departments_returns_claims_to_the_old_inbox(app, admin_client, api) -> None:  # noqa: ANN001
    from web.extensions import db

    assert _new_user(admin_client).status_code == 303
    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    screening = api("intake").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    api("intake").post(f"/api/v1/tasks/{screening['id']}/complete", json={"accepted": True})
    temp = api("km-temp")
    verify = temp.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    temp.post(f"/api/v1/tasks/{verify['id']}/claim")
    assert admin_client.post("/admin/users/km-temp/move", data={"department": "km-finance"}).status_code == 303
    with app.app_context():
        assert db.session.get(HumanTask, verify["id"]).claimed_by_id is None
    assert temp.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["total"] == 0  # not its inbox any more
    [moved] = _events(app, "official_moved")
    assert (moved.before["department"], moved.after["department"], moved.after["claims_returned"]) == (
        "km-commerce", "km-finance", 1)


def test_password_set_by_an_administrator_follows_the_policy(app, admin_client) -> None:  # noqa: ANN001
    assert _new_user(admin_client).status_code == 303
    weak = admin_client.post("/admin/users/km-temp/password", data={"password": "abc", "password2": "abc"})
    assert weak.status_code == 422
    assert "密码至少 10 个字符" in weak.get_data(as_text=True)
    assert admin_client.post("/admin/users/km-temp/password", data={
        "password": "Kunming2027new", "password2": "Kunming2027new"}).status_code == 303
    _signed_in(app, "km-temp", "Kunming2027new")
    assert _events(app, "password_set")[-1].actor_label.startswith("sysadmin ")


def test_an_administrator_cannot_deactivate_or_demote_themselves(app, admin_client) -> None:  # noqa: ANN001
    page = admin_client.post("/admin/users/sysadmin/deactivate", follow_redirects=True).get_data(as_text=True)
    assert "不能停用自己的账户" in page
    demote = admin_client.post("/admin/users/sysadmin", data={"full_name": "钱系统", "roles": ["official"]})
    assert demote.status_code == 422
    assert "不能更改自己的角色" in demote.get_data(as_text=True)


@pytest.mark.parametrize("roles", [["sysadmin", "ndrc"], ["sysadmin", "official"], ["official"]])
def test_an_administrator_cannot_change_their_own_roles(app, admin_client, roles) -> None:  # noqa: ANN001
    """Granting yourself `ndrc` would open every case's contents; another administrator must do it."""
    response = admin_client.post("/admin/users/sysadmin", data={"full_name": "钱系统", "roles": roles})
    assert response.status_code == 422
    assert "不能更改自己的角色（请由另一位系统管理员操作）" in response.get_data(as_text=True)
    from web.extensions import db

    with app.app_context():
        assert db.session.scalar(select(Official).where(Official.username == "sysadmin")).roles == ["sysadmin"]
    assert not [e for e in _events(app, "official_updated") if e.object_id == "sysadmin"]
    kept = admin_client.post("/admin/users/sysadmin", data={"full_name": "钱系统二", "roles": ["sysadmin"]})
    assert kept.status_code == 303  # the own name and e-mail may still change
    moved = admin_client.post("/admin/users/sysadmin/move", data={"department": "km-commerce"},
                              follow_redirects=True)
    assert "不能调动自己的部门" in moved.get_data(as_text=True)


def test_a_new_installation_gets_its_first_department_and_administrator_from_the_cli(app,  # noqa: ANN001
                                                                                     bundled_model_ids) -> None:
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["org", "create-department", "bs-drc2", "保山市发改委", "--level", "prefecture",
                              "--division", "5305"])
    assert bad.exit_code == 2
    assert "division_code: 行政区划代码为 6 位数字" in bad.output
    made = runner.invoke(args=["org", "create-department", "bs-drc2", "保山市发展和改革委员会（二）", "--level", "prefecture",
                               "--division", "530500", "--prefecture", "530500", "--uscc", "115305000079739482",
                               "--credit-lead"])
    assert made.exit_code == 0, made.output
    user = runner.invoke(args=["org", "create-user", "bs-admin", "--name", "保山管理员", "--department", "bs-drc2",
                               "--role", "sysadmin", "--password", "Baoshan2026ok"])
    assert user.exit_code == 0, user.output
    assert _signed_in(app, "bs-admin", "Baoshan2026ok").get("/admin/users").status_code == 200
    assert _events(app, "official_created")[-1].actor_label.startswith("cli")
