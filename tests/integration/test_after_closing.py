"""After closing, on the tracking page: the complainant rates (notification to the DRC) and objects within the
window (a task in the DRC's inbox); the DRC's decision and reason come back to the tracking page."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.cases.models import Complaint
from engine.intake import feedback
from engine.intake.models import CaseRating, Objection
from engine.notify.models import Notification
from tests.integration.test_public import FORM


@pytest.fixture
def closed(app, client, session, api) -> Complaint:  # noqa: ANN001
    from web.public import limiter

    with app.app_context():
        limiter.reset()
    assert client.post("/public/complaints/new", data=FORM).status_code == 303
    complaint = session.scalar(select(Complaint))
    intake = api("intake")
    [task] = intake.get(f"/api/v1/tasks?complaint_id={complaint.id}").get_json()["items"]
    done = intake.post(f"/api/v1/tasks/{task['id']}/complete",
                       json={"accepted": False, "reason": "out_of_scope", "remarks": "不属于受理范围"})
    assert done.status_code == 200, done.get_json()
    session.expire_all()
    complaint = session.get(Complaint, complaint.id)
    assert complaint.status == "closed"
    return complaint


def _track(client, complaint: Complaint):  # noqa: ANN001, ANN202
    return client.post("/public/track", data={"tracking_code": complaint.tracking_code, "phone_last4": "1234"})


def test_rate_object_and_read_the_decision(app, closed, session, api) -> None:  # noqa: ANN001
    browser = app.test_client()
    page = _track(browser, closed).get_data(as_text=True)
    assert "请对本次办理结果评价" in page
    assert "提出异议" in page
    bad = browser.post("/public/track/rating", data={"score": "9"})
    assert bad.status_code == 422
    assert "请选择 1–5 分的评价" in bad.get_data(as_text=True)
    done = browser.post("/public/track/rating", data={"score": "2", "comment": "<b>答复太简单</b>"})
    assert done.status_code == 303
    shown = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert "感谢您的评价" in shown
    assert "2 分，&lt;b&gt;答复太简单&lt;/b&gt;" in shown  # stored as text, escaped on output
    assert browser.post("/public/track/rating", data={"score": "5"}).status_code == 409
    assert session.scalar(select(CaseRating.score)) == 2
    notice = session.scalar(select(Notification).where(Notification.complaint_id == closed.id))
    assert notice.role == "ndrc"
    assert "2 分" in notice.title

    empty = browser.post("/public/track/objection", data={"reason": ""})
    assert empty.status_code == 422
    assert "请写明异议的理由" in empty.get_data(as_text=True)
    filed = browser.post("/public/track/objection", data={"reason": "我方协议属于招商引资，应予受理"})
    assert filed.status_code == 303
    assert "已收到您的异议" in browser.get(filed.headers["Location"]).get_data(as_text=True)
    assert browser.post("/public/track/objection", data={"reason": "再提一次"}).status_code == 409

    ndrc = api("ndrc")
    [task] = ndrc.get(f"/api/v1/tasks?complaint_id={closed.id}").get_json()["items"]
    assert task["spec_name"] == "decide_objection"
    assert api("intake").get(f"/api/v1/tasks?complaint_id={closed.id}").get_json()["total"] == 0
    decided = ndrc.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"reopen": True, "decision_reason": "协议属于招商引资范围，重新受理审查"})
    assert decided.status_code == 200, decided.get_json()
    page = browser.get("/public/track").get_data(as_text=True)
    assert "决定：重新办理" in page
    assert "协议属于招商引资范围，重新受理审查" in page
    session.expire_all()
    assert session.get(Complaint, closed.id).status == "screening"
    assert session.scalar(select(Objection.decision)) == "reopen"
    [again] = api("intake").get(f"/api/v1/tasks?complaint_id={closed.id}").get_json()["items"]
    assert again["spec_name"] == "screening"

    api("ndrc")  # the officials' case page shows both
    officials = app.test_client()
    officials.post("/login", data={"username": "ndrc", "password": "Lvyue@2026"})
    case_page = officials.get(f"/cases/{closed.id}").get_data(as_text=True)
    assert "我方协议属于招商引资，应予受理" in case_page
    assert "2 分" in case_page


def test_objection_window_and_tracking_first(app, closed, session, monkeypatch) -> None:  # noqa: ANN001
    stranger = app.test_client()
    assert stranger.post("/public/track/objection", data={"reason": "x"}).status_code == 403
    assert stranger.post("/public/track/rating", data={"score": "5"}).status_code == 403
    monkeypatch.setitem(app.config, "OBJECTION_WINDOW_DAYS", 0)
    closed.closed_at = closed.closed_at - timedelta(days=1)
    session.commit()
    browser = app.test_client()
    page = _track(browser, closed).get_data(as_text=True)
    assert "提出异议" not in page
    late = browser.post("/public/track/objection", data={"reason": "迟到的异议"})
    assert late.status_code == 409
    assert "已超过提出异议的期限" in late.get_data(as_text=True)
    assert session.scalar(select(Objection.id)) is None


def submitted_together(app, complaint: Complaint, path: str, data: dict, monkeypatch,  # noqa: ANN001, PLR0913
                       module: object, check: str) -> list[Any]:
    """Two browsers tracking `complaint` POST `data` to `path` at once: both pass the engine's `check` on
    `module` before either writes (a barrier right after it), as a double click on two servers would."""
    barrier = threading.Barrier(2, timeout=20)
    real: Callable[..., Any] = getattr(module, check)

    def checked_then_wait(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        barrier.wait()
        return result

    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        _track(browser, complaint)
    monkeypatch.setattr(module, check, checked_then_wait)
    responses: list[Any] = []

    def submit(browser) -> None:  # noqa: ANN001
        responses.append(browser.post(path, data=data))

    threads = [threading.Thread(target=submit, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a submission hung"
    return sorted(responses, key=lambda r: r.status_code)


def test_a_double_rating_at_the_same_moment_is_409_not_500(app, closed, session, monkeypatch) -> None:  # noqa: ANN001
    first, second = submitted_together(app, closed, "/public/track/rating", {"score": "4"}, monkeypatch,
                                       feedback, "rating_for")
    assert (first.status_code, second.status_code) == (303, 409)
    assert "您已评价过本次办理结果" in second.get_data(as_text=True)
    assert session.scalar(select(func.count(CaseRating.id))) == 1


def test_a_double_objection_at_the_same_moment_is_409_not_500(app, closed, session, monkeypatch) -> None:  # noqa: ANN001
    first, second = submitted_together(app, closed, "/public/track/objection", {"reason": "应予受理"}, monkeypatch,
                                       feedback, "may_object")
    assert (first.status_code, second.status_code) == (303, 409)
    assert "您已对本次办理结果提出过异议" in second.get_data(as_text=True)
    assert session.scalar(select(func.count(Objection.id))) == 1
