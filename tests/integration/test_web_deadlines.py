"""Deadlines in the officials' pages: due states in the inbox, 逾期督办, notifications, pauses, administration.

Cases are set up through the engine with an injected `now` in the past (Monday 2026-09-14), so their
deadlines have run out by the time the pages are read; timers are fired with `workflow_jobs.tick(now=...)`.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.cases.services import open_tasks, register_complaint
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.models import TimeLimit
from engine.deadlines.views import due_state, soon_limit
from engine.workflow import jobs as workflow_jobs
from engine.workflow.instances import complete_task
from tests.conftest import COMPLAINT

T0 = datetime(2026, 9, 14, 1, 0, tzinfo=UTC)  # Monday 09:00 in Yunnan; verification due end of Sat 2026-10-10


def _at_verification(session: Session, official, now: datetime | None = T0, name: str = "云南滇信科技有限公司") -> Complaint:  # noqa: ANN001
    complaint, _ = register_complaint(session, {**COMPLAINT, "complainant_name": name}, official("intake"), now=now)
    (screening,) = open_tasks(session, complaint)
    complete_task(session, screening.id, {"accepted": True}, official("intake"), now=now)
    session.commit()
    return complaint


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr class=\"due-(\w+)\">", page)


def test_due_state_rule(session: Session) -> None:
    cal = WorkCalendar(session)
    now = datetime(2026, 9, 28, 2, tzinfo=UTC)  # Monday; National Day holidays Oct 1–7
    assert due_state(None, now, cal) is None
    assert due_state(datetime(2026, 9, 28, 1, tzinfo=UTC), now, cal) == "overdue"
    # three working days from Mon Sep 28: Sep 29, Sep 30, then Oct 8 (after the holiday)
    assert soon_limit(now, cal) == datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)
    assert due_state(datetime(2026, 10, 8, 15, 0, tzinfo=UTC), now, cal) == "soon"
    assert due_state(datetime(2026, 10, 9, 15, 0, tzinfo=UTC), now, cal) == "ok"


def test_inbox_shows_filters_and_sorts_by_due_state(client, login, session: Session, official) -> None:  # noqa: ANN001
    late = _at_verification(session, official, name="逾期企业有限公司")
    _at_verification(session, official, now=None, name="按期企业有限公司")
    login("km-commerce")
    page = client.get("/").get_data(as_text=True)
    assert sorted(_rows(page)) == ["ok", "overdue"]
    assert _rows(page) == ["overdue", "ok"]  # soonest due first
    assert "已逾期" in page
    assert "按期" in page
    assert "15个工作日" in page  # the basis, beside the due date
    assert "2026-10-10 23:59" in page

    overdue_only = client.get("/?state=overdue").get_data(as_text=True)
    assert _rows(overdue_only) == ["overdue"]
    assert "逾期企业有限公司" in overdue_only
    assert "按期企业有限公司" not in overdue_only
    assert _rows(client.get("/?state=ok").get_data(as_text=True)) == ["ok"]
    assert _rows(client.get("/?state=soon").get_data(as_text=True)) == []
    assert _rows(client.get("/?sort=-due").get_data(as_text=True)) == ["ok", "overdue"]
    assert _rows(client.get("/?state=bogus&sort=bogus").get_data(as_text=True)) == ["overdue", "ok"]

    case_page = client.get(f"/cases/{late.id}").get_data(as_text=True)
    assert 'class="due-overdue"' in case_page
    assert "依据：" in case_page


def test_provisional_deadline_says_monday_to_friday(client, login, session: Session, official) -> None:  # noqa: ANN001
    _at_verification(session, official, now=datetime(2026, 12, 20, 2, tzinfo=UTC))  # due in 2027, not entered
    login("km-commerce")
    page = client.get("/").get_data(as_text=True)
    assert "下一年度节假日安排尚未录入，暂按周一至周五计算工作日" in page


def test_overdue_view_for_ndrc_and_prefecture_lead_only(client, login, session: Session, official) -> None:  # noqa: ANN001
    complaint = _at_verification(session, official)
    _at_verification(session, official, now=None, name="按期企业有限公司")
    workflow_jobs.tick(session, now=datetime(2026, 10, 14, 2, tzinfo=UTC))  # reminder and 挂牌督办 fire
    for username in ("ndrc", "km-drc"):
        login(username)
        home = client.get("/").get_data(as_text=True)
        assert 'href="/overdue"' in home
        page = client.get("/overdue")
        assert page.status_code == 200, username
        text = page.get_data(as_text=True)
        assert complaint.tracking_code in text
        assert f'href="/cases/{complaint.id}"' in text
        assert "昆明市商务局" in text
        assert "挂牌督办" in text
        assert "个工作日" in text
        assert "按期企业有限公司" not in text
        assert complaint.tracking_code in client.get("/overdue?supervised=1").get_data(as_text=True)

    login("qj-drc")  # another prefecture's lead: sees the page, not Kunming's tasks
    text = client.get("/overdue").get_data(as_text=True)
    assert complaint.tracking_code not in text
    assert "没有逾期未办的任务" in text

    login("km-commerce")
    assert 'href="/overdue"' not in client.get("/").get_data(as_text=True)
    assert client.get("/overdue").status_code == 403


def test_supervised_case_page_shows_badge(client, login, session: Session, official) -> None:  # noqa: ANN001
    complaint = _at_verification(session, official)
    workflow_jobs.tick(session, now=datetime(2026, 10, 14, 2, tzinfo=UTC))
    login("km-commerce")
    page = client.get(f"/cases/{complaint.id}").get_data(as_text=True)
    assert 'class="badge supervised"' in page
    assert "挂牌督办" in page


def test_notification_badge_after_reminder_and_mark_read(client, login, session: Session, official) -> None:  # noqa: ANN001
    complaint = _at_verification(session, official)
    login("km-commerce")
    assert "count-badge" not in client.get("/").get_data(as_text=True)
    assert "暂无通知" in client.get("/notifications").get_data(as_text=True)

    assert workflow_jobs.tick(session, now=datetime(2026, 10, 9, 2, tzinfo=UTC)) == 1  # the reminder, before the limit
    home = client.get("/").get_data(as_text=True)
    badge = re.search(r'<span class="count-badge"[^>]*>(\d+)</span>', home)
    assert badge
    assert int(badge.group(1)) >= 1
    page = client.get("/notifications").get_data(as_text=True)
    assert "期限提醒" in page
    assert "notification unread" in page
    assert f'href="/cases/{complaint.id}"' in page
    assert "全部标为已读" in page
    assert 'name="csrf_token"' in page

    response = client.post("/notifications/read")
    assert response.status_code == 303
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "标为已读" in after
    assert "notification unread" not in after
    assert "count-badge" not in after


def test_pause_and_resume_from_the_case_page(client, login, session: Session, official) -> None:  # noqa: ANN001
    complaint = _at_verification(session, official, now=None)
    login("km-commerce")
    page = client.get(f"/cases/{complaint.id}").get_data(as_text=True)
    assert "暂停计时" in page
    assert f'action="/cases/{complaint.id}/pause"' in page
    assert "本案未暂停过计时" in page

    empty = client.post(f"/cases/{complaint.id}/pause", data={"reason": "  "}, follow_redirects=True)
    assert "请填写暂停计时的原因" in empty.get_data(as_text=True)

    paused = client.post(f"/cases/{complaint.id}/pause", data={"reason": "等待投诉人补正合同原件"},
                         follow_redirects=True).get_data(as_text=True)
    assert "已暂停计时" in paused
    assert "等待投诉人补正合同原件" in paused
    assert "暂停计时中" in paused
    assert f'action="/cases/{complaint.id}/resume"' in paused
    assert f'action="/cases/{complaint.id}/pause"' not in paused

    again = client.post(f"/cases/{complaint.id}/pause", data={"reason": "再次"}, follow_redirects=True)
    assert "该案件已在暂停计时中" in again.get_data(as_text=True)

    resumed = client.post(f"/cases/{complaint.id}/resume", follow_redirects=True).get_data(as_text=True)
    assert "已恢复计时" in resumed
    assert "个工作日" in resumed
    assert "暂停计时中" not in resumed

    login("km-drc")  # may see the case, holds no task and is not the provincial DRC: the engine refuses
    refused = client.post(f"/cases/{complaint.id}/pause", data={"reason": "补正"}, follow_redirects=True)
    assert "只有省发展改革委、受理登记人员或认定部门可以暂停、恢复计时" in refused.get_data(as_text=True)


def test_admin_pages_only_for_ndrc_and_sysadmin(client, login) -> None:  # noqa: ANN001
    login("km-commerce")
    assert client.get("/admin/time-limits").status_code == 403
    assert client.get("/admin/calendar").status_code == 403
    assert "系统管理" not in client.get("/").get_data(as_text=True)
    login("sysadmin")
    assert client.get("/admin/time-limits").status_code == 200
    assert 'href="/admin/time-limits"' in client.get("/").get_data(as_text=True)


def test_time_limit_edit_persists_and_bad_values_show_errors(client, login, session: Session) -> None:  # noqa: ANN001
    original = session.get(TimeLimit, "verify")
    saved = (original.amount, original.unit, original.extension, original.basis, original.updated_by)
    session.rollback()
    login("ndrc")
    try:
        listing = client.get("/admin/time-limits").get_data(as_text=True)
        assert "核实认定" in listing
        assert "15 个工作日" in listing
        form = client.get("/admin/time-limits/verify").get_data(as_text=True)
        assert 'name="csrf_token"' in form
        assert 'value="15"' in form

        bad = client.post("/admin/time-limits/verify", data={"amount": "十五", "unit": "workday", "extension": "",
                                                              "basis": "x"})
        assert bad.status_code == 422
        assert "不是整数" in bad.get_data(as_text=True)
        out_of_range = client.post("/admin/time-limits/verify",
                                   data={"amount": "0", "unit": "workday", "extension": "", "basis": " "})
        assert out_of_range.status_code == 422
        text = out_of_range.get_data(as_text=True)
        assert "时限应在 1–365 之间" in text
        assert "请填写依据" in text

        ok = client.post("/admin/time-limits/verify", data={
            "amount": "20", "unit": "day", "extension": "10", "basis": "测试依据：某某条例第十条"})
        assert ok.status_code == 303
        listing = client.get(ok.headers["Location"]).get_data(as_text=True)
        assert "已保存时限" in listing
        assert "20 个自然日" in listing
        assert "测试依据：某某条例第十条" in listing
        session.expire_all()
        changed = session.get(TimeLimit, "verify")
        assert (changed.amount, changed.unit, changed.extension) == (20, "day", 10)
        assert "王鹏" in changed.updated_by
        session.rollback()
    finally:
        limit = session.get(TimeLimit, "verify")
        limit.amount, limit.unit, limit.extension, limit.basis, limit.updated_by = saved
        session.commit()


def test_calendar_year_entry(client, login) -> None:  # noqa: ANN001
    login("ndrc")
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert 'id="year-2026" class="year-builtin"' in page
    assert 'id="year-2004" class="year-builtin"' in page
    assert 'id="year-2027" class="year-missing"' in page

    bad = client.post("/admin/calendar", data={"year": "2027", "days": "2027-01-01 休 元旦\n2027-02-30 休 春节\n"
                                                                        "2027-02-07 上 调休\n2028-01-01 休 元旦"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "第 2 行" in text
    assert "日期“2027-02-30”无效" in text
    assert "第 3 行" in text
    assert "“休”（放假）或“班”" in text
    assert "第 4 行" in text
    assert "不属于 2027 年" in text
    assert "第 1 行" not in text
    assert "2027-02-30 休 春节" in text  # the textarea keeps what was typed
    assert 'id="year-2027" class="year-missing"' in text  # nothing saved

    assert client.post("/admin/calendar", data={"year": "2026", "days": ""}).status_code == 422

    ok = client.post("/admin/calendar", data={"year": "2027", "days": "2027-01-01 休 元旦\n\n2027-02-07 班 春节调休"})
    assert ok.status_code == 303
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "已录入 2027 年节假日安排（2 个调整日）" in page
    assert 'id="year-2027" class="year-entered"' in page
    assert "2 个调整日" in page
    again = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "2027-02-07 班 春节调休" in again


def test_time_limit_changes_are_audited_and_shown_on_the_limits_page(client, login, session: Session) -> None:  # noqa: ANN001
    original = session.get(TimeLimit, "screen")
    saved = (original.amount, original.unit, original.extension, original.basis, original.updated_by)
    session.rollback()
    login("ndrc")
    try:
        assert "自部署以来未修改过" in client.get("/admin/time-limits/screen").get_data(as_text=True)
        for amount in ("8", "9"):
            done = client.post("/admin/time-limits/screen", data={
                "amount": amount, "unit": "workday", "extension": "", "basis": f"测试依据{amount}"})
            assert done.status_code == 303
        page = client.get("/admin/time-limits/screen").get_data(as_text=True)
        history = page[page.index('data-role="limit-history"'):]
        assert history.count("王鹏（ndrc）") == 2
        assert history.index("测试依据9") < history.index(f"依据：{saved[3]}")  # newest change first
        assert f"{saved[0]} 个工作日" in history
        from engine.audit.models import AuditEvent

        [first, second] = session.scalars(select(AuditEvent).where(AuditEvent.action == "time_limit_changed")
                                          .order_by(AuditEvent.id)).all()
        assert (first.before["amount"], first.after["amount"], second.after["amount"]) == (saved[0], 8, 9)
        assert first.object_id == "screen"
        assert "王鹏" in first.actor_label
        session.rollback()
    finally:
        limit = session.get(TimeLimit, "screen")
        limit.amount, limit.unit, limit.extension, limit.basis, limit.updated_by = saved
        session.commit()
