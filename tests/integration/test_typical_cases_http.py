"""Published typical cases end to end over HTTP: the provincial DRC selects a record, edits the public text (refused
while it contains personal data, previewed as the public will see it), a second official approves, the public
page shows it without any personal data, and a withdrawal with a reason takes it off again."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.cases.models import CaseEvent
from engine.credit import redaction, services
from engine.credit.models import BreachRecord, TypicalCase
from engine.workflow.models import HumanTask
from tests.processes.conftest import ComplaintRun
from tests.processes.test_complaint import founded_until_review

PERSONAL = {"complainant_name": "云南滇信科技有限公司", "complainant_uscc": "91440101MA5CJQ4N59",
            "contact_person": "李明", "contact_phone": "13888001234", "legal_representative": "王建国",
            "contact_address": "昆明市官渡区关上街道100号"}
TITLE = "昆明市官渡区商务局拒不兑现招商引资扶持资金"
TEXT = ("2026年3月2日，昆明市商务局认定昆明市官渡区商务局违约失信（昆商认〔2026〕3号）。\n\n"
        "该局与某企业签订投资协议后，拒不兑现约定的产业扶持资金，经督促仍不整改。")


@pytest.fixture
def record(session: Session, official: Callable) -> BreachRecord:
    """A serious breach confirmed through the complaint procedure; basis and facts name the complainant."""
    run = ComplaintRun(session, official, False)
    run.register(**PERSONAL)
    founded_until_review(run, completed=False)
    run.complete("review_rectification", "km-commerce", {"rectified": False, "review_comment": "拒不整改"})
    run.complete("confirm_breach_task", "km-commerce", {
        "document_number": "昆商认〔2026〕3号", "severity": "serious",
        "basis": "与云南滇信科技有限公司签订的《投资协议》第五条",
        "facts": "企业联系人李明（13888001234）多次催告，扶持资金仍未兑现。"})
    run.complete("ndrc_review", "ndrc", {"approved": True, "national_report_number": "云发改信用〔2026〕21号"})
    found = services.record_for_complaint(session, run.complaint.id)
    assert found is not None
    return found


def open_task(session: Session, case_id: int) -> HumanTask:
    session.expire_all()
    case = session.get(TypicalCase, case_id)
    [task] = session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                     HumanTask.completed_at.is_(None))).all()
    return task


def article(html: str) -> str:
    match = re.search(r'<article class="typical-case".*?</article>', html, re.S)
    assert match, html
    return match.group(0)


def assert_no_personal_data(html: str) -> None:
    for value in (*PERSONAL.values(), "滇信", "138 8800", "1388800"):
        assert value not in html, value


def test_select_redact_approve_publish_and_withdraw(client, login, session: Session, record: BreachRecord) -> None:
    login("ndrc")
    page = client.get(f"/credit/records/{record.id}").get_data(as_text=True)
    assert "选为曝光典型案例" in page
    started = client.post(f"/credit/records/{record.id}/typical-case")
    assert started.status_code == 303
    select_url = started.headers["Location"]
    assert re.fullmatch(r"/tasks/[0-9a-f-]{36}", select_url)
    case_id = session.scalar(select(TypicalCase.id).where(TypicalCase.record_id == record.id))
    assert client.post(select_url, data={"selected": "true", "selection_reason": "serious"}).status_code == 303

    # redaction: the form starts from the masked draft and shows the public page below it
    redact_url = f"/tasks/{open_task(session, case_id).id}"
    page = client.get(redact_url).get_data(as_text=True)
    assert "脱敏编辑公开文本" in page
    assert "某企业" in page
    assert '<article class="typical-case"' in page
    assert "个人信息核查：未发现" in page
    preview_part = page[page.index('id="preview"'):]
    assert_no_personal_data(preview_part)

    refused = client.post(redact_url, data={"title": TITLE, "public_text": TEXT + "联系电话 138 8800 1234。"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "公开文本中仍含有个人信息，请删除或改写后再提交：手机号码「138 8800 1234」" in body
    assert "未提交审核" in body
    refused = client.post(redact_url, data={"title": TITLE, "public_text": TEXT + "（联系人：李明）"})
    assert "投诉人联系人姓名「李明」" in refused.get_data(as_text=True)
    assert open_task(session, case_id).spec_name == "redact_case"

    previewed = client.post(redact_url, data={"title": TITLE, "public_text": TEXT, "_action": "preview"})
    assert previewed.status_code == 200
    assert TEXT.split("\n\n")[1] in article(previewed.get_data(as_text=True))
    assert open_task(session, case_id).spec_name == "redact_case"  # previewing completes nothing
    full_page = client.post("/credit/typical-cases/preview", data={
        "task_id": open_task(session, case_id).id, "title": TITLE, "public_text": TEXT})
    assert full_page.status_code == 200
    full_html = full_page.get_data(as_text=True)
    assert "预览：尚未公开" in full_html
    assert "政府违约失信投诉专栏" in full_html  # the public site's layout
    preview_article = article(full_html)
    assert client.post(redact_url, data={"title": TITLE, "public_text": TEXT}).status_code == 303

    # approval: not by ndrc (no leader), by ndrc2, who sees the same preview
    approve = open_task(session, case_id)
    assert (approve.spec_name, approve.role) == ("approve_case", "leader")
    assert client.post(f"/tasks/{approve.id}", data={"approved": "true"}).status_code == 403
    login("ndrc2")
    page = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert article(page) == preview_article
    assert client.post(f"/tasks/{approve.id}", data={"approved": "true"}).status_code == 303

    # the public page, no sign-in
    login(None)
    listing = client.get("/public/typical-cases")
    assert listing.status_code == 200
    assert TITLE in listing.get_data(as_text=True)
    public = client.get(f"/public/typical-cases/{case_id}")
    assert public.status_code == 200
    public_html = public.get_data(as_text=True)
    assert article(public_html) == preview_article  # exactly what the editor and the approver saw
    assert "昆明市官渡区商务局" in public_html
    for html in (public_html, listing.get_data(as_text=True)):
        assert_no_personal_data(html)
    api = client.get("/api/v1/public/typical-cases").get_json()
    assert [c["title"] for c in api] == [TITLE]
    assert_no_personal_data(str(api))

    # withdrawal: a reason is required; logged; the public page no longer has it
    login("ndrc")
    client.post(f"/credit/typical-cases/{case_id}/withdraw", data={"reason": ""})
    assert "请填写撤下理由" in client.get("/credit/typical-cases").get_data(as_text=True)
    withdrawn = client.post(f"/credit/typical-cases/{case_id}/withdraw", data={"reason": "被投诉主体已整改到位"})
    assert withdrawn.status_code == 303
    page = client.get("/credit/typical-cases").get_data(as_text=True)
    assert "被投诉主体已整改到位" in page
    login(None)
    gone = client.get(f"/public/typical-cases/{case_id}")
    assert gone.status_code == 404
    assert "该典型案例不存在或已撤下" in gone.get_data(as_text=True)
    assert TITLE not in client.get("/public/typical-cases").get_data(as_text=True)
    assert client.get("/api/v1/public/typical-cases").get_json() == []
    session.expire_all()
    [event] = session.scalars(select(CaseEvent).where(CaseEvent.complaint_id == record.complaint_id,
                                                      CaseEvent.kind == "typical_case_withdrawn")).all()
    assert "被投诉主体已整改到位" in event.summary
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "typical_case_withdrawn"))
    assert audit.actor_label.startswith("ndrc")
    assert audit.after["reason"] == "被投诉主体已整改到位"


def test_only_the_provincial_drc_proposes_and_withdraws(client, login, api, record: BreachRecord) -> None:
    login("km-commerce")
    page = client.get(f"/credit/records/{record.id}").get_data(as_text=True)
    assert "选为曝光典型案例" not in page
    refused = client.post(f"/credit/records/{record.id}/typical-case")
    assert refused.status_code == 403
    assert client.get("/credit/typical-cases").status_code == 403
    login(None)  # from here on the bearer token speaks, not the browser session
    started = api("ndrc").post(f"/api/v1/breach-records/{record.id}/typical-case")
    assert started.status_code == 201, started.get_json()
    again = api("ndrc").post(f"/api/v1/breach-records/{record.id}/typical-case")
    assert again.status_code == 409
    assert "不能重复选定" in again.get_json()["message"]
    listed = api("ndrc").get("/api/v1/typical-cases").get_json()
    assert [(c["record_id"], c["status"]) for c in listed] == [(record.id, "selecting")]
    assert api("km-commerce").get("/api/v1/typical-cases").status_code == 403
    not_published = api("ndrc").post(f"/api/v1/typical-cases/{listed[0]['id']}/withdraw", json={"reason": "x"})
    assert not_published.status_code == 409


def test_public_records_page_and_json_show_no_personal_data(client, session: Session, record: BreachRecord) -> None:
    expired = services.create_record(  # minor, determined in 2020: published until 2020-04-06 only
        session, source="test", respondent_name="某县已过公示期的局", determining_name="某市商务局",
        determined_on=date(2020, 1, 6), document_number="过期〔2020〕1号", basis="协议", facts="-",
        domain="other", severity="minor")
    session.commit()
    assert expired.publication_end == date(2020, 4, 6)
    page = client.get("/public/breach-records")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "昆明市官渡区商务局" in html
    assert "昆商认〔2026〕3号" in html
    assert "与某企业签订的《投资协议》第五条" in html  # the basis, with the complainant masked
    assert_no_personal_data(html)
    assert "多次催告" not in html  # facts are not public
    rows = client.get("/api/v1/public/breach-records").get_json()["items"]
    [row] = [r for r in rows if r["id"] == record.id]
    assert row["basis"] == "与某企业签订的《投资协议》第五条"
    assert set(row) == {"id", "respondent_name", "respondent_uscc", "respondent_division", "determining_name",
                        "determined_on", "document_number", "basis", "domain", "domain_label", "severity_label",
                        "publication_start", "publication_end", "active_measures"}
    assert_no_personal_data(str(rows))
    assert expired.id not in {r["id"] for r in rows}
    assert "某县已过公示期的局" not in html
    # repaired → no longer listed
    services.repair_record(session, record, "昆商修〔2027〕1号", None, services.clock.now())
    session.commit()
    assert "昆明市官渡区商务局" not in client.get("/public/breach-records").get_data(as_text=True)
    assert record.id not in {r["id"] for r in client.get("/api/v1/public/breach-records").get_json()["items"]}


# The complainant's data written so that a plain comparison misses it (PERSONAL above): each is refused, named as
# written; what only looks like it (dates, amounts, the hotline in Chinese or full-width digits) is not.
VARIANTS = [
    ("联系电话１３８８８００１２３４", "手机号码「１３８８８００１２３４」"),
    ("联系电话一三八八八〇〇一二三四", "手机号码「一三八八八〇〇一二三四」"),
    ("联系电话壹叁捌捌捌零零壹贰叁肆", "手机号码「壹叁捌捌捌零零壹贰叁肆」"),
    ("联系电话１３８　８８００　１２３４", "手机号码「１３８　８８００　１２３４」"),
    ("联系电话 ١٣٨٨٨٠٠١٢٣٤", "手机号码「١٣٨٨٨٠٠١٢٣٤」"),
    ("固话０８７１－６３１２３４５６", "固定电话号码「０８７１－６３１２３４５６」"),
    ("身份证５３０１１１１９９００１０１１２３ｘ", "身份证号码「５３０１１１１９９００１０１１２３ｘ」"),
    ("邮箱 ｌｉｍｉｎｇ＠ｄｉａｎｘｉｎ．ｃｎ", "电子邮箱「ｌｉｍｉｎｇ＠ｄｉａｎｘｉｎ．ｃｎ」"),
    ("联系人李 明", "投诉人联系人姓名「李 明」"),
    ("联系人李\u3000明", "投诉人联系人姓名「李\u3000明」"),
    ("联系人李\u200b明", "投诉人联系人姓名「李\u200b明」"),
    ("联系人李·明", "投诉人联系人姓名「李·明」"),
    ("法定代表人王 建 国", "投诉企业法定代表人姓名「王 建 国」"),
    ("滇 信公司", "投诉企业字号「滇 信」"),
    ("云南 滇信 科技有限公司", "投诉企业名称「云南 滇信 科技有限公司」"),
    ("位于关上街道100号", "投诉人地址「关上街道100号」"),
    ("位于关上街道一百号", "投诉人地址「关上街道一百号」"),
    ("位于关上街道 １００ 号", "投诉人地址「关上街道 １００ 号」"),
    ("代码91440101ma5cjq4n59", "投诉企业统一社会信用代码「91440101ma5cjq4n59」"),
    ("代码９１４４０１０１ＭＡ５ＣＪＱ４Ｎ５９", "投诉企业统一社会信用代码「９１４４０１０１ＭＡ５ＣＪＱ４Ｎ５９」"),
    ("代码 9144 0101 MA5C JQ4N 59", "投诉企业统一社会信用代码「9144 0101 MA5C JQ4N 59」"),
]
NOT_PERSONAL = ("二〇二六年三月二日认定，第一次催告后三十日内仍未兑现，涉及金额３００万元，"
                "可拨打１２３４５热线或０８７１－１２３４５咨询。")


def test_personal_data_written_differently_is_still_refused(client, login, session: Session,
                                                            record: BreachRecord) -> None:
    login("ndrc")
    client.post(f"/credit/records/{record.id}/typical-case")
    case_id = session.scalar(select(TypicalCase.id).where(TypicalCase.record_id == record.id))
    client.post(f"/tasks/{open_task(session, case_id).id}", data={"selected": "true", "selection_reason": "serious"})
    redact_url = f"/tasks/{open_task(session, case_id).id}"
    terms = redaction.personal_terms(session, record)
    for written, named in VARIANTS:
        masked = redaction.mask(written, terms)  # a draft made from such text has it masked
        assert masked != written
        assert redaction.find_personal_data(masked, terms) == [], (written, masked)
        refused = client.post(redact_url, data={"title": TITLE, "public_text": f"{TEXT}{written}。"})
        assert refused.status_code == 422, written
        assert named in refused.get_data(as_text=True), written
        in_title = client.post(redact_url, data={"title": TITLE + written, "public_text": TEXT})
        assert "标题中仍含有个人信息" in in_title.get_data(as_text=True), written
    assert open_task(session, case_id).spec_name == "redact_case"
    accepted = client.post(redact_url, data={"title": TITLE, "public_text": f"{TEXT}\n\n{NOT_PERSONAL}"})
    assert accepted.status_code == 303, accepted.get_data(as_text=True)
    assert open_task(session, case_id).spec_name == "approve_case"


def measure_step(api, record: BreachRecord, body: dict, form: dict) -> None:  # noqa: ANN001
    """Start measures.bpmn for the record over the API and complete its one task."""
    started = api("ndrc").post(f"/api/v1/breach-records/{record.id}/measures", json=body)
    assert started.status_code == 201, started.get_json()
    [task] = [t for t in api("ndrc").get("/api/v1/tasks?lane=ndrc").get_json()["items"]
              if t["spec_name"] in ("choose_measure", "decide_end")]
    done = api("ndrc").post(f"/api/v1/tasks/{task['id']}/complete", json=form)
    assert done.status_code == 200, done.get_json()


def test_the_draft_names_only_measures_in_force_as_applied(client, login, api, session: Session,
                                                           record: BreachRecord) -> None:
    for code, number in (("public_criticism", "云发改信用〔2026〕50号"), ("cancel_awards", "云发改信用〔2026〕51号")):
        measure_step(api, record, {"action": "apply"}, {"measure_code": code, "document_number": number})
    session.expire_all()
    [lifted] = [m for m in record.measures if m.measure_type.code == "cancel_awards"]
    measure_step(api, record, {"action": "end", "measure_id": lifted.id}, {"end_reason": "已整改到位"})
    session.expire_all()
    ended_on = services._local_day(session.get(type(lifted), lifted.id).ended_at)

    login("ndrc")
    client.post(f"/credit/records/{record.id}/typical-case")
    case_id = session.scalar(select(TypicalCase.id).where(TypicalCase.record_id == record.id))
    client.post(f"/tasks/{open_task(session, case_id).id}", data={"selected": "true", "selection_reason": "serious"})
    page = client.get(f"/tasks/{open_task(session, case_id).id}").get_data(as_text=True)
    assert "已依法实施失信惩戒措施：公开通报批评。" in page
    assert f"曾实施的失信惩戒措施已结束：取消评优评先（{ended_on:%Y年%m月%d日}结束）。" in page
    assert "已依法实施失信惩戒措施：公开通报批评、取消评优评先" not in page
