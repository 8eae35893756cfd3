"""Authorization matrix: every endpoint of the app (pages and API, every method) is called by an official of every
role, by the anonymous public, with a bearer token and with a channel key, and each answer must be the allow or
deny that MATRIX below says.

Denied means 401, 403, or (for pages) the redirect to the sign-in page; anything else — 200, 302 elsewhere, 404
for an unknown id, 409, 422 for an empty form — means the permission check let the call through. A 500 fails the
test. Every call runs against the same data: commits are turned into flushes and each request's transaction is
rolled back, so a call that would change something changes nothing for the next one.

ADDING AN ENDPOINT: add a row `("METHOD", "/rule/<as>/<in>/<url_map>"): Row({...callers allowed...})` to MATRIX.
Callers are the keys of USERS plus "anonymous" and "channel" (an X-Api-Key of the 12345 hotline); the bearer
token belongs to the `ndrc` official and must get the ndrc column's answer. Path arguments come from the data
built in `world` (by argument name, see `_path`) or from `Row(path=...)`. The permission itself is declared on
the view (`@requires(...)`, web/permissions.py) and granted per role in engine/org/permissions.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.documents.models import OfficialDocument
from engine.org.models import Department, Official
from tests.conftest import COMPLAINT

USERS = {  # caller → demo username
    "intake": "intake",  # 受理登记人员 (provincial DRC)
    "official": "km-commerce",  # 部门经办人员 of the determining department of the case
    "leader": "km-commerce-lead",  # 部门负责人 of the same department
    "prefecture_lead": "km-drc",  # 州（市）信用牵头单位 of Kunming
    "ndrc": "ndrc",  # 省发展改革委信用处
    "process_admin": "procadmin",
    "sysadmin": "sysadmin",
}
CALLERS = ("anonymous", *USERS, "channel", "bearer")
BEARER_OF = "ndrc"

EVERYONE = frozenset({"anonymous", *USERS, "channel"})
OFFICIALS = frozenset(USERS)
CASE_ROLES = frozenset({"intake", "official", "leader", "prefecture_lead", "ndrc"})  # hold case work
CASE_VIEWERS = CASE_ROLES | {"process_admin"}  # of the world's case, which all of them may see
TASK_WORKERS = frozenset({"official", "leader"})  # the verify task lies with 昆明市商务局
PROCESS_ADMINS = frozenset({"process_admin", "sysadmin"})
DRC = frozenset({"ndrc"})
DRC_AND_INTAKE = frozenset({"intake", "ndrc"})
# the case's evidence files: the DRC, intake and the determining department (昆明市商务局) — not a prefecture lead
# looking on, not the process administrator
EVIDENCE_HANDLERS = DRC_AND_INTAKE | TASK_WORKERS
RECORD_VIEWERS = CASE_ROLES  # the world's record: determined by 昆明市商务局, in Kunming
TIME_ADMINS = frozenset({"ndrc", "sysadmin"})
AUDITORS = frozenset({"ndrc", "sysadmin"})
STATISTICS = frozenset({"intake", "prefecture_lead", "ndrc"})  # the DRC's offices and prefecture credit leads
ORG_ADMINS = frozenset({"sysadmin"})
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Row:
    allow: frozenset[str]
    path: dict[str, Any] = field(default_factory=dict)  # path arguments for this rule only
    body: dict[str, Any] = field(default_factory=dict)  # a valid body, where validation precedes the object rule


MATRIX: dict[tuple[str, str], Row] = {
    # --- public -----------------------------------------------------------------------------------------
    ("GET", "/healthz"): Row(EVERYONE),
    ("GET", "/readyz"): Row(EVERYONE),
    ("GET", "/metrics"): Row(EVERYONE),  # its own guard: loopback (as here) or METRICS_TOKEN
    ("GET", "/static/<path:filename>"): Row(EVERYONE, {"filename": "app.css"}),
    ("GET", "/api/v1/openapi.json"): Row(EVERYONE),
    ("GET", "/login"): Row(EVERYONE),
    ("POST", "/login"): Row(EVERYONE),
    ("GET", "/public/static/<path:filename>"): Row(EVERYONE, {"filename": "public.css"}),
    ("GET", "/public/"): Row(EVERYONE),
    ("GET", "/public/complaints/new"): Row(EVERYONE),
    ("POST", "/public/track/notices"): Row(NOBODY),  # only for the complaint this browser tracked (403 here)
    ("POST", "/public/complaints/new"): Row(EVERYONE),
    ("GET", "/public/complaints/receipt"): Row(EVERYONE),
    ("GET", "/public/departments"): Row(EVERYONE),
    ("GET", "/public/track"): Row(EVERYONE),
    ("POST", "/public/track"): Row(EVERYONE),
    ("GET", "/api/v1/public/breach-records"): Row(EVERYONE),
    ("GET", "/public/breach-records"): Row(EVERYONE),
    ("GET", "/public/typical-cases"): Row(EVERYONE),
    ("GET", "/public/typical-cases/<int:case_id>"): Row(EVERYONE),
    ("GET", "/api/v1/public/typical-cases"): Row(EVERYONE),
    ("GET", "/api/v1/public/typical-cases/<int:case_id>"): Row(EVERYONE),
    ("POST", "/public/track/forget"): Row(EVERYONE),
    # only in the browser session that tracked a case (tracking code + phone digits) — none here
    ("POST", "/public/track/objection"): Row(NOBODY),
    ("POST", "/public/track/rating"): Row(NOBODY),
    ("POST", "/public/track/supplements/<int:request_id>"): Row(NOBODY),
    ("GET", "/bulletins/public/"): Row(EVERYONE),
    ("GET", "/bulletins/public/<int:bulletin_id>"): Row(EVERYONE),
    # --- every official -------------------------------------------------------------------------------------
    ("GET", "/"): Row(OFFICIALS),
    ("POST", "/logout"): Row(OFFICIALS),
    ("GET", "/profile"): Row(OFFICIALS),
    ("POST", "/profile"): Row(OFFICIALS),
    ("POST", "/profile/tokens/<int:token_id>/revoke"): Row(OFFICIALS),  # own tokens only (unknown id: 404)
    ("POST", "/profile/sign-out-everywhere"): Row(OFFICIALS),
    ("POST", "/profile/sessions/<int:session_id>/end"): Row(OFFICIALS),  # own sessions only (unknown id: 404)
    ("POST", "/profile/sessions/end-others"): Row(OFFICIALS),
    ("GET", "/notifications"): Row(OFFICIALS),
    ("POST", "/notifications/read"): Row(OFFICIALS),
    ("GET", "/api/v1/tasks"): Row(OFFICIALS),
    ("GET", "/api/v1/measure-types"): Row(OFFICIALS),
    # --- cases ------------------------------------------------------------------------------------------------
    ("GET", "/cases/"): Row(CASE_VIEWERS),
    ("GET", "/cases/new"): Row(DRC_AND_INTAKE),
    ("POST", "/cases/new"): Row(DRC_AND_INTAKE),
    ("GET", "/cases/<int:complaint_id>"): Row(CASE_VIEWERS),
    ("GET", "/cases/<int:complaint_id>/diagram"): Row(CASE_VIEWERS),
    # holds an open task (never the respondent), the DRC or intake
    ("POST", "/cases/<int:complaint_id>/pause"): Row(TASK_WORKERS | DRC_AND_INTAKE),
    ("POST", "/cases/<int:complaint_id>/resume"): Row(TASK_WORKERS | DRC_AND_INTAKE),
    ("POST", "/cases/<int:complaint_id>/evidence"): Row(EVIDENCE_HANDLERS),
    ("GET", "/cases/evidence/<int:evidence_id>"): Row(EVIDENCE_HANDLERS),
    ("GET", "/cases/documents/<int:document_id>.<fmt>"): Row(CASE_VIEWERS, {"fmt": "docx"}),  # the 受理通知书
    ("GET", "/api/v1/complaints/<int:complaint_id>/documents"): Row(CASE_VIEWERS),
    ("GET", "/api/v1/complaints/<int:complaint_id>/documents/<int:document_id>"): Row(CASE_VIEWERS),  # no file on disk: 404 behind the check
    ("POST", "/api/v1/complaints"): Row(DRC_AND_INTAKE | {"channel"}),
    ("GET", "/api/v1/complaints"): Row(CASE_VIEWERS),  # each sees the cases it may see (case_filter)
    ("GET", "/api/v1/complaints/<int:complaint_id>"): Row(CASE_VIEWERS | {"channel"}),  # the channel's own case
    ("POST", "/api/v1/complaints/<int:complaint_id>/pause"): Row(TASK_WORKERS | DRC_AND_INTAKE, body={"reason": "补正"}),
    ("POST", "/api/v1/complaints/<int:complaint_id>/resume"): Row(TASK_WORKERS | DRC_AND_INTAKE),
    ("POST", "/cases/<int:complaint_id>/correct"): Row(DRC),  # 纠错: the provincial DRC only
    ("GET", "/api/v1/complaints/<int:complaint_id>/correction"): Row(DRC),
    ("POST", "/api/v1/complaints/<int:complaint_id>/correction"): Row(DRC, body={"task_id": "x", "reason": "纠错"}),
    ("GET", "/api/v1/channel/updates"): Row(frozenset({"channel"})),
    ("GET", "/api/v1/complaints/<int:complaint_id>/evidence"): Row(EVIDENCE_HANDLERS | {"channel"}),
    ("POST", "/api/v1/complaints/<int:complaint_id>/evidence"): Row(EVIDENCE_HANDLERS | {"channel"}),
    ("GET", "/api/v1/evidence/<int:evidence_id>/content"): Row(EVIDENCE_HANDLERS),  # a channel key: 403
    ("GET", "/api/v1/complaints/<int:complaint_id>/supplements"): Row(CASE_VIEWERS),
    ("POST", "/api/v1/complaints/<int:complaint_id>/supplements"): Row(TASK_WORKERS | DRC_AND_INTAKE,
                                                                       body={"note": "请补充付款凭证"}),
    # only the DRC, intake and the department holding an open task may ask (engine: may_request → 403)
    ("POST", "/intake/cases/<int:complaint_id>/supplements"): Row(TASK_WORKERS | DRC_AND_INTAKE),
    # --- tasks ------------------------------------------------------------------------------------------------
    ("GET", "/tasks/<task_id>"): Row(CASE_VIEWERS),  # who may work on it, and who may see its case
    ("POST", "/tasks/<task_id>"): Row(TASK_WORKERS),  # completing (the empty form: 422)
    ("POST", "/tasks/<task_id>/claim"): Row(TASK_WORKERS),
    ("POST", "/tasks/<task_id>/unclaim"): Row(TASK_WORKERS),
    ("GET", "/api/v1/tasks/<string:task_id>"): Row(CASE_VIEWERS),
    ("POST", "/api/v1/tasks/<string:task_id>/claim"): Row(TASK_WORKERS),
    ("POST", "/api/v1/tasks/<string:task_id>/unclaim"): Row(TASK_WORKERS),
    ("POST", "/api/v1/tasks/<string:task_id>/complete"): Row(TASK_WORKERS),
    ("GET", "/overdue"): Row(frozenset({"prefecture_lead", "ndrc"})),
    # --- intake: duplicates -------------------------------------------------------------------------------------
    ("GET", "/intake/duplicates"): Row(DRC_AND_INTAKE),
    ("POST", "/intake/duplicates/<int:candidate_id>/<any(merge, reject):decision>"): Row(
        DRC_AND_INTAKE, {"decision": "reject"}),
    ("GET", "/api/v1/duplicates"): Row(DRC_AND_INTAKE),
    ("POST", "/api/v1/duplicates/<int:candidate_id>/merge"): Row(DRC_AND_INTAKE),
    ("POST", "/api/v1/duplicates/<int:candidate_id>/reject"): Row(DRC_AND_INTAKE),
    # --- breach records ----------------------------------------------------------------------------------------
    ("GET", "/api/v1/breach-records"): Row(RECORD_VIEWERS),
    ("GET", "/api/v1/breach-records/export"): Row(RECORD_VIEWERS),
    ("GET", "/api/v1/breach-records/<int:record_id>"): Row(RECORD_VIEWERS),
    ("POST", "/api/v1/breach-records/<int:record_id>/measures"): Row(DRC),
    ("POST", "/api/v1/breach-records/<int:record_id>/repair"): Row(TASK_WORKERS | DRC),  # the respondent's superior
    ("PUT", "/api/v1/measure-types/<string:code>"): Row(DRC, {"code": "public_criticism"}),
    ("GET", "/api/v1/platform-deliveries"): Row(AUDITORS),
    ("POST", "/api/v1/platform-deliveries/<int:delivery_id>/retry"): Row(AUDITORS),
    # destination profiles (平台对照): the DRC and the system administrator
    ("GET", "/api/v1/exchange-profiles"): Row(AUDITORS),
    ("GET", "/api/v1/exchange-profiles/<string:target>"): Row(AUDITORS, {"target": "provincial"}),
    ("PUT", "/api/v1/exchange-profiles/<string:target>"): Row(AUDITORS, {"target": "provincial"}),
    ("DELETE", "/api/v1/exchange-profiles/<string:target>"): Row(AUDITORS, {"target": "provincial"}),
    # breach records: officials' pages, typical cases (issue 6; the case id is unknown: 404 = let through)
    ("GET", "/credit/records"): Row(RECORD_VIEWERS),
    ("GET", "/credit/records/export"): Row(RECORD_VIEWERS),
    ("GET", "/credit/records/<int:record_id>"): Row(RECORD_VIEWERS),
    ("POST", "/credit/records/<int:record_id>/measures"): Row(DRC),
    ("POST", "/credit/records/<int:record_id>/repair"): Row(TASK_WORKERS | DRC),
    ("POST", "/credit/records/<int:record_id>/typical-case"): Row(DRC),
    ("GET", "/credit/deliveries"): Row(AUDITORS),
    ("POST", "/credit/deliveries/<int:delivery_id>/retry"): Row(AUDITORS),
    ("GET", "/credit/exchange-profiles"): Row(AUDITORS),
    ("GET", "/credit/exchange-profiles/<target>"): Row(AUDITORS, {"target": "provincial"}),
    ("POST", "/credit/exchange-profiles/<target>"): Row(AUDITORS, {"target": "provincial"}),
    ("POST", "/credit/exchange-profiles/<target>/reset"): Row(AUDITORS, {"target": "provincial"}),
    ("GET", "/credit/typical-cases"): Row(DRC),
    ("POST", "/credit/typical-cases/<int:case_id>/withdraw"): Row(DRC),
    ("POST", "/credit/typical-cases/preview"): Row(CASE_VIEWERS),  # then the task's own rule (unknown task: 404)
    ("GET", "/api/v1/typical-cases"): Row(DRC),
    ("POST", "/api/v1/breach-records/<int:record_id>/typical-case"): Row(DRC),
    ("POST", "/api/v1/typical-cases/<int:case_id>/withdraw"): Row(DRC),
    # --- statistics, bulletins, assessment -------------------------------------------------------------------
    ("GET", "/oversight/"): Row(STATISTICS),
    ("GET", "/oversight/cases"): Row(STATISTICS),  # without its query: 404
    ("GET", "/api/v1/oversight/figures"): Row(STATISTICS),
    ("GET", "/api/v1/oversight/ranking"): Row(STATISTICS),
    ("GET", "/bulletins/"): Row(STATISTICS),
    ("POST", "/bulletins/generate"): Row(DRC),
    ("GET", "/bulletins/<int:bulletin_id>"): Row(STATISTICS),
    ("POST", "/bulletins/<int:bulletin_id>/review"): Row(DRC),
    ("GET", "/bulletins/<int:bulletin_id>/print"): Row(STATISTICS),
    ("GET", "/bulletins/<int:bulletin_id>/xlsx"): Row(STATISTICS),
    ("GET", "/bulletins/assessment"): Row(STATISTICS),
    ("GET", "/bulletins/assessment/<int:year>.<fmt>"): Row(STATISTICS, {"year": 2026, "fmt": "csv"}),
    ("GET", "/bulletins/assessment/sheet"): Row(DRC),
    ("POST", "/bulletins/assessment/sheet"): Row(DRC),
    ("GET", "/api/v1/bulletins"): Row(STATISTICS),
    ("POST", "/api/v1/bulletins"): Row(DRC),
    ("GET", "/api/v1/bulletins/<int:bulletin_id>"): Row(STATISTICS),
    ("GET", "/api/v1/bulletins/<int:bulletin_id>/status"): Row(STATISTICS),
    ("GET", "/api/v1/bulletins/<int:bulletin_id>/xlsx"): Row(STATISTICS),
    ("POST", "/api/v1/bulletins/<int:bulletin_id>/review"): Row(DRC),
    ("GET", "/api/v1/assessment"): Row(STATISTICS),
    ("GET", "/api/v1/assessment/export"): Row(STATISTICS),
    ("GET", "/api/v1/assessment/sheet"): Row(STATISTICS),
    ("PUT", "/api/v1/assessment/sheet"): Row(DRC),
    # --- administration --------------------------------------------------------------------------------------
    ("GET", "/api/v1/audit"): Row(AUDITORS),
    ("GET", "/audit/"): Row(AUDITORS),
    ("GET", "/audit/export"): Row(AUDITORS),
    ("GET", "/admin/"): Row(TIME_ADMINS),
    ("GET", "/admin/time-limits"): Row(TIME_ADMINS),
    ("GET", "/admin/time-limits/<key>"): Row(TIME_ADMINS, {"key": "verify"}),
    ("POST", "/admin/time-limits/<key>"): Row(TIME_ADMINS, {"key": "verify"}),
    ("GET", "/admin/calendar"): Row(TIME_ADMINS),
    ("POST", "/admin/calendar"): Row(TIME_ADMINS),
    ("GET", "/admin/departments"): Row(ORG_ADMINS),
    ("GET", "/admin/departments/new"): Row(ORG_ADMINS),
    ("POST", "/admin/departments/new"): Row(ORG_ADMINS),
    ("GET", "/admin/departments/<code>"): Row(ORG_ADMINS, {"code": "km-guandu-commerce"}),
    ("POST", "/admin/departments/<code>"): Row(ORG_ADMINS, {"code": "km-guandu-commerce"}),
    ("GET", "/admin/users"): Row(ORG_ADMINS),
    ("GET", "/admin/users/new"): Row(ORG_ADMINS),
    ("POST", "/admin/users/new"): Row(ORG_ADMINS),
    ("GET", "/admin/users/<username>"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/move"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/deactivate"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/reactivate"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/password"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/unlock"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/sign-out-everywhere"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("POST", "/admin/users/<username>/tokens/<int:token_id>/revoke"): Row(ORG_ADMINS, {"username": "guandu-commerce"}),
    ("GET", "/api/v1/departments"): Row(ORG_ADMINS),
    ("GET", "/api/v1/users"): Row(ORG_ADMINS),
    # --- process administration ---------------------------------------------------------------------------------
    ("GET", "/processes/"): Row(PROCESS_ADMINS),
    ("GET", "/processes/new"): Row(PROCESS_ADMINS),
    ("GET", "/processes/<key>/versions/<int:version>/edit"): Row(PROCESS_ADMINS),
    ("GET", "/processes/<key>/diff"): Row(PROCESS_ADMINS),
    ("GET", "/processes/<key>/diff.json"): Row(PROCESS_ADMINS),
    ("GET", "/processes/<key>/migrate"): Row(PROCESS_ADMINS),
    ("POST", "/processes/form-preview"): Row(PROCESS_ADMINS),
    ("GET", "/processes/instances/<int:instance_id>"): Row(PROCESS_ADMINS),
    ("POST", "/processes/instances/<int:instance_id>/<action>"): Row(PROCESS_ADMINS, {"action": "retry"}),
    ("GET", "/processes/lane-roles"): Row(PROCESS_ADMINS),
    ("POST", "/processes/instances/<int:instance_id>/scenario"): Row(PROCESS_ADMINS),
    ("GET", "/processes/<key>/scenarios"): Row(PROCESS_ADMINS),
    ("POST", "/processes/<key>/scenarios/delete"): Row(PROCESS_ADMINS),
    ("GET", "/processes/document-templates"): Row(PROCESS_ADMINS),
    ("GET", "/processes/document-templates/<kind>.docx"): Row(PROCESS_ADMINS, {"kind": "acceptance_notice"}),
    ("POST", "/processes/document-templates/<kind>"): Row(PROCESS_ADMINS, {"kind": "acceptance_notice"}),  # no file
    ("POST", "/processes/document-templates/<kind>/reset"): Row(PROCESS_ADMINS, {"kind": "acceptance_notice"}),
    ("POST", "/processes/lane-roles"): Row(PROCESS_ADMINS),
    ("GET", "/processes/lane-roles/<int:role_id>"): Row(PROCESS_ADMINS),
    ("POST", "/processes/lane-roles/<int:role_id>"): Row(PROCESS_ADMINS),
    ("GET", "/api/v1/processes"): Row(PROCESS_ADMINS),
    ("GET", "/api/v1/processes/<string:key>/versions/<int:version>"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/processes/deploy"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/processes/trial-run"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/scenario"): Row(PROCESS_ADMINS),
    ("GET", "/api/v1/processes/<key>/scenarios"): Row(PROCESS_ADMINS),
    ("DELETE", "/api/v1/processes/<key>/scenarios/<path:name>"): Row(PROCESS_ADMINS, {"name": "没有这个场景"}),
    ("GET", "/api/v1/process-catalog"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/process-fields"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/migrations/preview"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/migrations"): Row(PROCESS_ADMINS),
    ("GET", "/api/v1/instances/<int:instance_id>"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/suspend"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/resume"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/retry"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/skip"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/instances/<int:instance_id>/move-back"): Row(PROCESS_ADMINS),
    ("GET", "/api/v1/lane-roles"): Row(PROCESS_ADMINS),
    ("POST", "/api/v1/lane-roles"): Row(PROCESS_ADMINS),
    ("PUT", "/api/v1/lane-roles/<int:role_id>"): Row(PROCESS_ADMINS),
}

UNKNOWN_ID = 999_999  # for objects the world does not build: the check must still answer before the 404


@pytest.fixture
def world(app, api, session: Session, bundled_model_ids) -> dict[str, Any]:  # noqa: ANN001
    """One case of each kind, committed: a 12345-hotline complaint at verification with 昆明市商务局 with one
    evidence file (its row; no file on disk), a second registration of it (a duplicate candidate), a breach
    record against 官渡区商务局 with its delivery."""
    from engine.credit import services as credit
    from engine.credit.models import PlatformDelivery
    from engine.intake.models import DuplicateCandidate, EvidenceFile
    from engine.intake.services import create_channel_key
    from engine.workflow.models import HumanTask, ProcessInstance

    _key, plain = create_channel_key(session, "hotline_12345", "matrix")
    session.commit()
    client = app.test_client()
    sent = client.post("/api/v1/complaints", json={**COMPLAINT, "external_ref": "MATRIX-1"},
                       headers={"X-Api-Key": plain})
    assert sent.status_code == 201, sent.get_json()
    complaint_id = sent.get_json()["id"]
    intake = api("intake")
    screening = intake.get(f"/api/v1/tasks?complaint_id={complaint_id}").get_json()["items"][0]
    assert intake.post(f"/api/v1/tasks/{screening['id']}/complete", json={"accepted": True}).status_code == 200
    again = intake.post("/api/v1/complaints", json=COMPLAINT)
    assert again.status_code == 201, again.get_json()

    guandu = session.scalar(select(Department).where(Department.code == "km-guandu-commerce"))
    commerce = session.scalar(select(Department).where(Department.code == "km-commerce"))
    record = credit.create_record(
        session, now=datetime(2026, 3, 2, 2, tzinfo=UTC), source="test", respondent_id=guandu.id,
        respondent_name=guandu.name, respondent_division=guandu.division_code,
        respondent_prefecture=guandu.prefecture_code, determining_department_id=commerce.id,
        determining_name=commerce.name, determined_on=date(2026, 3, 2), document_number="昆商认〔2026〕9号",
        basis="协议第五条", facts="拒不兑现", domain="investment_promotion", severity="ordinary")
    session.commit()
    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == complaint_id,
                                                  HumanTask.completed_at.is_(None)))
    assert task is not None
    assert (task.spec_name, task.department_id) == ("verify", commerce.id)
    candidate = session.scalar(select(DuplicateCandidate).where(DuplicateCandidate.other_id == complaint_id))
    assert candidate is not None
    evidence = EvidenceFile(complaint_id=complaint_id, original_name="营业执照.pdf", kind="pdf",
                            content_type="application/pdf", size_bytes=1, sha256="0" * 64,
                            storage_name="0" * 40, source="channel", channel="hotline_12345")
    session.add(evidence)
    session.commit()
    return {
        "channel_key": plain,
        "bearer": api(BEARER_OF).headers["Authorization"],
        "complaint_id": complaint_id,
        "task_id": task.id,
        "candidate_id": candidate.id,
        "evidence_id": evidence.id,
        "document_id": session.scalar(select(OfficialDocument.id).where(
            OfficialDocument.complaint_id == complaint_id, OfficialDocument.kind == "acceptance_notice")),
        "record_id": record.id,
        "delivery_id": session.scalar(select(PlatformDelivery.id).where(PlatformDelivery.record_id == record.id)),
        "instance_id": session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.subject_id == complaint_id)),
        "key": "complaint",
        "version": 1,
    }


def _path(rule: Any, row: Row, world: dict[str, Any]) -> str:
    values = {}
    for name in rule.arguments:
        if name in row.path:
            values[name] = row.path[name]
        elif name in world:
            values[name] = world[name]
        elif name.endswith("_id"):
            values[name] = UNKNOWN_ID
        else:
            pytest.fail(f"{rule.rule}: no value for <{name}>; give one in its MATRIX row: Row(..., path={{'{name}': ...}})")
    return rule.build(values, append_unknown=False)[1]


def _signed_in_cookies(app, password: str) -> dict[str, str]:  # noqa: ANN001
    cookies = {}
    for caller, username in USERS.items():
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, (username, response.status_code)
        cookies[caller] = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value
    return cookies


def _denied(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code in (301, 302, 303, 307):
        target = urlsplit(response.headers.get("Location", ""))
        return target.path == "/login" and "next" in parse_qs(target.query)
    return False


def test_every_endpoint_answers_every_caller_as_the_matrix_says(make_app, world, demo_password,  # noqa: ANN001
                                                                monkeypatch) -> None:
    plenty = "10000 per minute"  # not RATELIMIT_ENABLED=False: that switches off the shared limiter for later tests
    app = make_app(WTF_CSRF_ENABLED=False, PUBLIC_SUBMIT_RATE_LIMIT=plenty, PUBLIC_TRACK_RATE_LIMIT=plenty,
                   PUBLIC_SEARCH_RATE_LIMIT=plenty)
    rules = [(method, rule) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    missing = sorted(f"{method} {rule.rule}  (endpoint {rule.endpoint})" for method, rule in rules
                     if (method, rule.rule) not in MATRIX)
    assert not missing, ("Endpoints without a row in the authorization matrix — add one to MATRIX in "
                         "tests/integration/test_authorization_matrix.py saying which callers may call it:\n  "
                         + "\n  ".join(missing))
    stale = sorted(set(MATRIX) - {(method, rule.rule) for method, rule in rules})
    assert not stale, f"MATRIX rows for endpoints that no longer exist: {stale}"

    cookies = _signed_in_cookies(app, demo_password)
    monkeypatch.setattr(Session, "commit", Session.flush)  # every request is rolled back at its teardown
    from web.sessions import DatabaseSessionInterface  # … and leaves the server-side session data as it was

    monkeypatch.setattr(DatabaseSessionInterface, "_upsert_session", lambda *_args: None)
    monkeypatch.setattr(DatabaseSessionInterface, "_delete_session", lambda *_args: None)
    cookie_name = app.config.get("SESSION_COOKIE_NAME", "session")
    wrong, crashed = [], []
    for method, rule in sorted(rules, key=lambda mr: (mr[1].rule, mr[0])):
        row = MATRIX[(method, rule.rule)]
        url = _path(rule, row, world)
        for caller in CALLERS:
            client = app.test_client()
            headers = {}
            if caller in USERS:
                client.set_cookie(cookie_name, cookies[caller])
            elif caller == "bearer":
                headers["Authorization"] = world["bearer"]
            elif caller == "channel":
                headers["X-Api-Key"] = world["channel_key"]
            body = ({"json": row.body} if url.startswith("/api/") else {"data": row.body}) if method in (
                "POST", "PUT") else {}
            response = client.open(url, method=method, headers=headers, **body)
            response.close()
            if response.status_code == 500:  # 503 from /readyz (no Alembic stamp in tests) is an answer
                crashed.append(f"{method} {url} as {caller}: {response.status_code}")
                continue
            expected = (BEARER_OF if caller == "bearer" else caller) in row.allow
            if _denied(response) == expected:
                wrong.append(f"{method} {rule.rule} as {caller}: {'denied' if expected else 'allowed'} "
                             f"({response.status_code}), the matrix says {'allow' if expected else 'deny'}")
    assert not crashed, "server errors:\n  " + "\n  ".join(crashed)
    assert not wrong, f"{len(wrong)} answers differ from the matrix:\n  " + "\n  ".join(wrong)


def test_every_endpoint_declares_its_permission(app, bundled_model_ids) -> None:  # noqa: ANN001
    """One permission check: each endpoint names what it requires (web/permissions.py), none is left to chance."""
    from web.permissions import rule_for

    undeclared = sorted(f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
                        if rule_for(app, rule.endpoint) is None)
    assert not undeclared, ("Endpoints that declare no permission — put @requires(PERMISSION) under the route "
                            "decorator (web/permissions.py), or protect(blueprint, ...):\n  " + "\n  ".join(undeclared))


def test_inactive_officials_hold_no_permission(session: Session, official) -> None:  # noqa: ANN001
    from engine.org.permissions import SIGNED_IN, VIEW_CASE, allowed

    ndrc: Official = official("ndrc")
    assert allowed(ndrc, VIEW_CASE)
    ndrc.is_active = False
    assert not allowed(ndrc, SIGNED_IN)
    assert not allowed(ndrc, VIEW_CASE)
    session.rollback()
