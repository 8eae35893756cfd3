"""Formal documents (公文): the documents of one full breach path, their 文号 (per department and year, gap-free
even for two steps at the same moment), .docx and PDF downloads, the list in the API and on the case page,
and administrators' templates."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from docx import Document
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.cases.services import open_tasks, register_complaint
from engine.documents import services as documents
from engine.documents.layout import build_template
from engine.documents.models import OfficialDocument
from engine.org.models import Official
from engine.workflow.instances import complete_task
from tests.conftest import COMPLAINT
from tests.processes.conftest import START, ComplaintRun


def _text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def _breach_path(session: Session, official) -> ComplaintRun:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    run.register()
    run.complete("screening", "intake", {"accepted": True, "remarks": "属于受理范围"})
    run.complete("verify", "km-commerce", {"outcome": "founded", "explanation": "经核实，扶持资金确未兑现"})
    run.complete("order_rectification", "km-commerce", {"deadline": "2026-04-30", "requirements": "30 日内兑现扶持资金"})
    run.complete("report_rectification", "guandu-commerce", {"completed": False, "measures": "资金尚未落实"})
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    run.complete("confirm_breach_task", "km-commerce",
                 {"document_number": "昆商认〔2026〕3号", "basis": "协议第五条", "facts": "拒不兑现扶持资金"})
    run.complete("ndrc_review", "ndrc2", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    return run


def test_documents_of_a_full_breach_path(api, client, session: Session, official, demo_password) -> None:  # noqa: ANN001
    run = _breach_path(session, official)
    body = api("ndrc").get(f"/api/v1/complaints/{run.complaint.id}/documents").get_json()
    assert body["total"] == len(body["items"]) == 6
    assert [(d["kind"], d["number"]) for d in body["items"]] == [
        ("acceptance_notice", "云发改信用〔2026〕1号"), ("transfer_letter", "云发改信用〔2026〕2号"),
        ("verification_result", "昆明市商务局〔2026〕1号"), ("rectification_notice", "昆明市商务局〔2026〕2号"),
        ("breach_determination", "昆明市商务局〔2026〕3号"), ("report_letter", "云发改信用〔2026〕3号")]
    assert {d["title"] for d in body["items"]} == {"受理通知书", "转办函", "核实结果告知书", "督促整改通知书",
                                                   "违约失信认定书", "上报函"}
    assert all(set(d) >= {"kind", "number", "title", "created_at", "url"} for d in body["items"])

    by_kind = {d["kind"]: d for d in body["items"]}
    notice = api("km-commerce").get(by_kind["rectification_notice"]["url"])
    assert notice.status_code == 200
    assert notice.mimetype == documents.DOCX
    text = _text(notice.data)
    for expected in ("督促整改通知书", "昆明市商务局〔2026〕2号", "昆明市官渡区商务局：", "30 日内兑现扶持资金",
                     "二〇二六年四月三十日", "二〇二六年三月二日"):
        assert expected in text, expected
    assert "{{" not in text
    determination = _text(api("ndrc").get(by_kind["breach_determination"]["url"]).data)
    assert "拒不兑现扶持资金" in determination
    assert "协议第五条" in determination
    report = _text(api("ndrc").get(by_kind["report_letter"]["url"]).data)
    assert "国家发展改革委：" in report
    assert "昆商认〔2026〕3号" in report

    assert api("km-finance").get(by_kind["acceptance_notice"]["url"]).status_code == 403  # cannot see the case
    assert api("ndrc").get(f"/api/v1/complaints/{run.complaint.id}/documents/999999").status_code == 404
    assert api("ndrc").get(by_kind["acceptance_notice"]["url"] + "?format=odt").status_code == 422

    pdf = api("ndrc").get(by_kind["acceptance_notice"]["pdf_url"])
    if documents.pdf_available():
        assert pdf.status_code == 200
        assert pdf.mimetype == "application/pdf"
        assert pdf.data.startswith(b"%PDF")
    else:
        assert pdf.status_code == 409
        assert "LibreOffice" in pdf.get_json()["message"]

    client.post("/login", data={"username": "km-commerce", "password": demo_password})
    page = client.get(f"/cases/{run.complaint.id}").get_data(as_text=True)
    assert "昆明市商务局〔2026〕3号" in page
    doc_id = by_kind["breach_determination"]["id"]
    assert f'/cases/documents/{doc_id}.docx' in page
    assert client.get(f"/cases/documents/{doc_id}.docx").mimetype == documents.DOCX
    first = session.scalar(select(OfficialDocument).where(OfficialDocument.complaint_id == run.complaint.id)
                           .order_by(OfficialDocument.id).limit(1))
    assert (first.number, first.recipient, first.department.code) == ("云发改信用〔2026〕1号", "云南滇信科技有限公司", "ndrc")


def test_a_rejection_issues_its_notice(api, session: Session, official) -> None:  # noqa: ANN001
    run = ComplaintRun(session, official, save_restore=False)
    run.register()
    run.complete("screening", "intake", {"accepted": False, "reason": "in_litigation"})
    [notice] = api("intake").get(f"/api/v1/complaints/{run.complaint.id}/documents").get_json()["items"]
    assert (notice["kind"], notice["title"]) == ("rejection_notice", "不予受理告知书")
    assert "已进入诉讼、仲裁或信访程序" in _text(api("intake").get(notice["url"]).data)


def test_numbers_stay_unique_and_gap_free_when_two_steps_issue_at_once(db_engine: Engine, session: Session,
                                                                      official) -> None:  # noqa: ANN001
    """Two intake officials accept two cases at the same moment: each acceptance issues two documents of the
    same department (受理通知书, 转办函); the four numbers are 1–4, none twice."""
    tasks = []
    for _ in range(2):
        complaint, _ = register_complaint(session, COMPLAINT, official("intake"), now=START)
        tasks.append(open_tasks(session, complaint)[0].id)
    session.commit()
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def accept(task_id: str) -> None:
        with Session(db_engine, expire_on_commit=False) as own:
            actor = own.scalar(select(Official).where(Official.username == "intake"))
            barrier.wait()
            try:
                complete_task(own, task_id, {"accepted": True}, actor, now=START + timedelta(hours=1))
                own.commit()
            except BaseException as exc:  # reported to the main thread
                own.rollback()
                errors.append(exc)

    threads = [threading.Thread(target=accept, args=(task_id,)) for task_id in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    session.expire_all()
    seqs = sorted(session.scalars(select(OfficialDocument.seq).where(OfficialDocument.year == 2026)))
    assert seqs == [1, 2, 3, 4]


def test_administrators_replace_and_reset_a_template(client, session: Session, official, demo_password,  # noqa: ANN001
                                                     api) -> None:  # noqa: ANN001
    client.post("/login", data={"username": "procadmin", "password": demo_password})
    page = client.get("/processes/document-templates").get_data(as_text=True)
    assert "督促整改通知书" in page
    assert "系统内置" in page
    default = client.get("/processes/document-templates/acceptance_notice.docx")
    assert default.mimetype == documents.DOCX
    assert "{{ number }}" in _text(default.data)

    refused = client.post("/processes/document-templates/acceptance_notice",
                          data={"template": (io.BytesIO(b"not a word file"), "x.docx")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "模板无法使用" in refused.get_data(as_text=True)
    custom = build_template("本单位受理通知（{{ tracking_code }}）", ["自定义正文：{{ complainant }}"])
    saved = client.post("/processes/document-templates/acceptance_notice",
                        data={"template": (io.BytesIO(custom), "受理通知书.docx")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "已更新「受理通知书」模板" in saved.get_data(as_text=True)

    run = ComplaintRun(session, official, save_restore=False)
    run.register()
    run.complete("screening", "intake", {"accepted": True})
    [notice] = [d for d in api("ndrc").get(f"/api/v1/complaints/{run.complaint.id}/documents").get_json()["items"]
                if d["kind"] == "acceptance_notice"]

    # the template changes back before anyone opens the notice: the file is still drawn from the template (and
    # the values) of the moment it was issued, and every download is the same file
    client.post("/processes/document-templates/acceptance_notice/reset")
    assert "系统内置" in client.get("/processes/document-templates").get_data(as_text=True)
    first = api("ndrc").get(notice["url"]).data
    text = _text(first)
    assert f"本单位受理通知（{run.complaint.tracking_code}）" in text
    assert "自定义正文：云南滇信科技有限公司" in text
    assert api("intake").get(notice["url"]).data == first
    later = ComplaintRun(session, official, save_restore=False)
    later.register()
    later.complete("screening", "intake", {"accepted": True})
    [built_in] = [d for d in api("ndrc").get(f"/api/v1/complaints/{later.complaint.id}/documents").get_json()["items"]
                  if d["kind"] == "acceptance_notice"]
    assert "自定义正文" not in _text(api("ndrc").get(built_in["url"]).data)
    client.post("/login", data={"username": "km-commerce", "password": demo_password})
    assert client.get("/processes/document-templates").status_code == 403


@pytest.mark.parametrize(("day", "text"), [("2026-03-02", "二〇二六年三月二日"), ("2026-10-20", "二〇二六年十月二十日"),
                                           ("2027-12-31", "二〇二七年十二月三十一日")])
def test_chinese_dates(day: str, text: str) -> None:
    from datetime import date

    assert documents.chinese_date(date.fromisoformat(day)) == text
