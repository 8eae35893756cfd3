"""Formal documents (公文): which decision issues which document, the 文号, rendering and PDF conversion.

A document is issued when a case event matches a rule of DOCUMENTS (the same matching as the milestones:
event kind, the diagram's task id, submitted form values) — in the transaction of the step that wrote the
event: the event is noted while the session flushes, and after the flush the number is taken and what the
document says is fixed — the template's values (`context`) and the template as it is now (kept once per content
hash in `document_template_version`) — so the document is committed with the step or not at all. The .docx is
rendered from them on first download (`docx_of`) and kept: rendering is most of a deciding step's cost, and
the file does not depend on when it is drawn. Numbers come from `document_counter`,
one row per issuing department and year, incremented with an UPDATE that holds the row until commit: two
concurrent steps wait for each other, a rolled-back step gives its number back — unique and gap-free.
"""
from __future__ import annotations

import hashlib
import io
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from docxtpl import DocxTemplate
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from engine import settings_cache
from engine.audit.services import record as audit
from engine.cases.models import CaseEvent, Complaint
from engine.cases.status import result_label
from engine.db import as_utc
from engine.documents.layout import build_template
from engine.documents.models import (
    DocumentCounter,
    DocumentSeries,
    DocumentTemplate,
    DocumentTemplateVersion,
    OfficialDocument,
)
from engine.errors import ConflictError, FormInvalid, NotFound
from engine.org import permissions
from engine.org.models import Department, Official
from engine.org.services import department_name, provincial_credit_office
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI

logger = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "acceptance_notice": "受理通知书",
    "rejection_notice": "不予受理告知书",
    "transfer_letter": "转办函",
    "rectification_notice": "督促整改通知书",
    "verification_result": "核实结果告知书",
    "breach_determination": "违约失信认定书",
    "report_letter": "上报函",
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_PREFIXES = {"ndrc": "云发改信用"}  # 机关代字 without a document_series row; others use their name
REJECTION_REASONS = {"out_of_scope": "不属于政府违约失信投诉受理范围", "incomplete": "材料不全且未按要求补正",
                     "in_litigation": "已进入诉讼、仲裁或信访程序"}
OUTCOMES = {"founded": "投诉反映的情况属实", "unfounded": "投诉反映的情况不属实",
            "disputed": "双方存在分歧，转由州（市）信用牵头单位协调处理"}
SEVERITY = {"minor": "轻微", "ordinary": "一般", "serious": "严重", None: "一般"}
_CN_DIGITS = "〇一二三四五六七八九"


# --- which decision issues which document -------------------------------------------------------------------

Resolver = Callable[[Session, Complaint, CaseEvent], Any]


@dataclass(frozen=True)
class DocumentRule:
    kind: str
    event_kind: str
    task: str | None
    when: Mapping[str, Any] = field(default_factory=dict)
    issuer: Resolver = lambda _s, c, _e: c.intake_department  # noqa: E731
    recipient: Resolver = lambda _s, c, _e: c.complainant_name  # noqa: E731
    copy_to: Resolver = lambda _s, _c, _e: "省发展改革委"  # noqa: E731

    def matches(self, case_event: CaseEvent) -> bool:
        return case_event.is_a(self.event_kind, self.task, self.when)


def _supervisor(_session: Session, complaint: Complaint, _event: CaseEvent) -> Department:
    return complaint.supervisor or complaint.intake_department


def _forwarded_to(session: Session, complaint: Complaint, case_event: CaseEvent) -> str:
    code = (case_event.data or {}).get("supervisor")
    name = department_name(session, code, complaint.supervisor)
    return name or (complaint.supervisor.name if complaint.supervisor else "认定部门")


DOCUMENTS: tuple[DocumentRule, ...] = (
    DocumentRule("acceptance_notice", "task_completed", "screening", {"accepted": True}),
    DocumentRule("rejection_notice", "task_completed", "screening", {"accepted": False}),
    DocumentRule("transfer_letter", "forwarded", None, recipient=_forwarded_to,
                 copy_to=lambda _s, c, _e: c.complainant_name),
    DocumentRule("verification_result", "task_completed", "verify", issuer=_supervisor),
    DocumentRule("rectification_notice", "task_completed", "order_rectification", issuer=_supervisor,
                 recipient=lambda _s, c, _e: c.respondent_name),
    DocumentRule("breach_determination", "task_completed", "confirm_breach_task", issuer=_supervisor,
                 recipient=lambda _s, c, _e: c.respondent_name),
    DocumentRule("report_letter", "task_completed", "ndrc_review", {"approved": True},
                 issuer=lambda s, _c, _e: provincial_credit_office(s), recipient=lambda *_: "国家发展改革委",
                 copy_to=lambda _s, c, _e: (c.supervisor.name if c.supervisor else c.respondent_name)),
)


# --- the built-in templates ---------------------------------------------------------------------------------

_FROM = "你单位于{{ received_cn }}反映{{ respondent }}在履行《{{ agreement }}》中违约失信的投诉（查询码：{{ tracking_code }}）收悉。"
DEFAULT_BODIES: dict[str, tuple[str, list[str]]] = {
    "acceptance_notice": ("受理通知书", [
        _FROM + "经审查，该投诉属于政府违约失信投诉受理范围，现予受理。",
        "我们将依法依规转交认定部门核实处理，并及时告知办理进展。你单位可凭查询码和联系电话后四位，在信用云南网站"
        "“政府违约失信投诉专栏”查询办理进度。", "特此通知。"]),
    "rejection_notice": ("不予受理告知书", [
        _FROM + "经审查，该投诉{{ reason }}，根据有关规定，决定不予受理。",
        "如对本决定有异议，可自收到本告知书之日起十五日内向云南省发展和改革委员会提出。", "特此告知。"]),
    "transfer_letter": ("关于转办政府违约失信投诉的函", [
        "现将{{ complainant }}反映{{ respondent }}在履行《{{ agreement }}》中违约失信的投诉（查询码：{{ tracking_code }}）"
        "转你单位办理。",
        "投诉事项：{{ facts }}", "投诉诉求：{{ claims }}",
        "请按照政府违约失信投诉处置有关规定，在规定时限内核实认定，督促整改，并将办理结果报送我委。", "特此函告。"]),
    "verification_result": ("核实结果告知书", [
        _FROM + "经{{ issuer }}核实，{{ outcome }}。", "{{ explanation }}", "特此告知。"]),
    "rectification_notice": ("督促整改通知书", [
        "{{ complainant }}反映你单位在履行《{{ agreement }}》中违约失信的投诉（查询码：{{ tracking_code }}），经核实情况属实。"
        "根据政府违约失信投诉处置有关规定，现督促你单位整改。",
        "整改要求：{{ requirements }}",
        "请于{{ deadline_cn }}前完成整改，并将整改情况书面报送{{ issuer }}。逾期未整改的，视为拒不整改，依规确认为违约失信。",
        "特此通知。"]),
    "breach_determination": ("违约失信认定书", [
        "{{ complainant }}反映你单位在履行《{{ agreement }}》中违约失信的投诉（查询码：{{ tracking_code }}），经核实情况属实，"
        "经督促，你单位拒不整改或整改不到位。",
        "失信事实：{{ breach_facts }}", "认定依据：{{ basis }}",
        "根据政府违约失信投诉处置有关规定，认定你单位存在政务违约失信行为，失信程度为{{ severity }}。本认定报云南省发展和改革委员会"
        "复核后，依规纳入政务失信记录。", "特此认定。"]),
    "report_letter": ("关于报送政务违约失信信息的函", [
        "现将{{ respondent }}政务违约失信情况报送如下：",
        "认定部门：{{ determining }}；认定文书：{{ determination_number }}。", "失信事实：{{ breach_facts }}",
        "认定依据：{{ basis }}", "以上情况经我委复核无误，请予审核。", "特此函告。"]),
}


@cache
def default_template(kind: str) -> bytes:
    """The built-in template of `kind` (GB/T 9704 layout, engine/documents/layout.py); drawn once per process
    (drawing it costs more than rendering a document from it)."""
    heading, body = DEFAULT_BODIES[kind]
    return build_template(heading, body)


@cache
def _default_sha256(kind: str) -> str:
    return hashlib.sha256(default_template(kind)).hexdigest()


@dataclass(frozen=True)
class _Template:
    docx: bytes
    sha256: str
    source: str


def template_of(session: Session, kind: str) -> tuple[bytes, str]:
    """The template in force for `kind` and where it comes from (an administrator's upload or built in)."""
    template = _template_in_force(session, kind)
    return template.docx, template.source


def _template_in_force(session: Session, kind: str) -> _Template:
    if kind not in KINDS:
        raise NotFound("没有这种公文")
    uploaded = settings_cache.cached(session, "document_templates", _read_templates).get(kind)
    return uploaded or _Template(default_template(kind), _default_sha256(kind), "系统内置（GB/T 9704 版式）")


def _read_templates(session: Session) -> tuple[int | None, Mapping[str, _Template]]:
    """The administrators' templates (a few, tens of KB each), with their hashes: kept per process
    (engine/settings_cache.py), so issuing a 公文 reads none."""
    read_at, rows = settings_cache.read_with_generation(session, (
        DocumentTemplate.kind, DocumentTemplate.docx, DocumentTemplate.updated_by, DocumentTemplate.updated_at))
    return read_at, MappingProxyType({kind: _Template(
        docx, hashlib.sha256(docx).hexdigest(),
        f"{updated_by} 于 {as_utc(updated_at).astimezone(SHANGHAI):%Y-%m-%d %H:%M} 上传")
        for kind, docx, updated_by, updated_at in rows})


def save_template(session: Session, kind: str, data: bytes, file_name: str, actor: Official) -> DocumentTemplate:
    """Replace the template of `kind` with an uploaded .docx, after rendering it once with sample values."""
    permissions.require(actor, permissions.ADMINISTER_PROCESSES)
    if kind not in KINDS:
        raise NotFound("没有这种公文")
    try:
        _render(data, _sample_context(kind))
    except Exception as exc:  # noqa: BLE001 - any failure of a foreign file is the uploader's problem, in Chinese
        raise FormInvalid({"template": f"模板无法使用：{type(exc).__name__}。请上传 .docx 文件，占位符写成 {{{{ 名称 }}}}"}) from exc
    row = session.get(DocumentTemplate, kind) or DocumentTemplate(kind=kind)
    row.docx, row.file_name, row.updated_by, row.updated_at = data, file_name[:200], actor.label, clock.now()
    session.add(row)
    audit(session, "document_template_saved", actor, "document_template", kind, after={"file_name": file_name})
    session.flush()
    return row


def reset_template(session: Session, kind: str, actor: Official) -> None:
    """Go back to the built-in template of `kind`."""
    permissions.require(actor, permissions.ADMINISTER_PROCESSES)
    row = session.get(DocumentTemplate, kind)
    if row is not None:
        session.delete(row)
        audit(session, "document_template_reset", actor, "document_template", kind)
        session.flush()


# --- issuing ------------------------------------------------------------------------------------------------

def prefix_of(session: Session, department: Department) -> str:
    prefix = settings_cache.cached(session, "document_series", _read_series).get(department.id)
    if prefix is not None:
        return prefix
    return DEFAULT_PREFIXES.get(department.code, department.name)


def _read_series(session: Session) -> tuple[int | None, Mapping[int, str]]:
    read_at, rows = settings_cache.read_with_generation(session, (DocumentSeries.department_id, DocumentSeries.prefix))
    return read_at, MappingProxyType({department_id: prefix for department_id, prefix in rows})


def _read_versions(session: Session) -> tuple[int | None, frozenset[str]]:
    read_at, rows = settings_cache.read_with_generation(session, (DocumentTemplateVersion.sha256,))
    return read_at, frozenset(row[0] for row in rows)


def next_number(session: Session, department_id: int, year: int) -> int:
    """Take the next sequence number of `department_id` in `year` (the counter row stays locked until commit)."""
    key = {"b_department": department_id, "b_year": year}
    taken = session.execute(_TAKE_NUMBER, key).scalar()
    if taken is None:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(_COUNTERS).values(department_id=department_id, year=year, last=0)
                        .on_conflict_do_nothing())
        taken = session.execute(_TAKE_NUMBER, key).scalar()
    return int(taken)


# Core, built once: no ORM bulk-update machinery, no autoflush (nothing pending matters), no statement per 公文
_COUNTERS = DocumentCounter.__table__
_TAKE_NUMBER = (update(_COUNTERS).where(_COUNTERS.c.department_id == bindparam("b_department"),
                                        _COUNTERS.c.year == bindparam("b_year"))
                .values(last=_COUNTERS.c.last + 1).returning(_COUNTERS.c.last))


def issue(session: Session, case_event: CaseEvent, rule: DocumentRule) -> OfficialDocument:
    """Number, render and attach the document `rule` issues for `case_event`."""
    complaint = session.get(Complaint, case_event.complaint_id)
    issuer: Department = rule.issuer(session, complaint, case_event)
    moment = as_utc(case_event.at) or clock.now()
    year = moment.astimezone(SHANGHAI).year
    seq = next_number(session, issuer.id, year)
    number = f"{prefix_of(session, issuer)}〔{year}〕{seq}号"
    recipient = str(rule.recipient(session, complaint, case_event))
    context = _context(session, complaint, case_event, issuer, number, recipient,
                       str(rule.copy_to(session, complaint, case_event)), moment)
    template = _template_in_force(session, rule.kind)
    document = OfficialDocument(
        complaint_id=complaint.id, case_event_id=case_event.id, kind=rule.kind, title=KINDS[rule.kind],
        recipient=recipient[:300], department_id=issuer.id, year=year, seq=seq, number=number, created_at=moment,
        context=context, template_sha256=_keep_template(session, template.docx, template.sha256))
    session.add(document)  # listed on the case page and by the API; the case history keeps the decision itself
    logger.info("issued %s %s for complaint %s", rule.kind, number, complaint.id)
    return document


def _keep_template(session: Session, template: bytes, sha: str) -> str:
    """Store the template as it is now under its content hash `sha`, once, and return the hash.

    The row is immutable and shared by every document issued from that template, so on PostgreSQL a version not
    stored yet is written in a short transaction of its own: inside the step's transaction, two cases issuing
    their first document of a kind at once would wait for each other on the key. An orphan version left by a step
    that rolls back costs nothing. SQLite has one writer, the step's own transaction.

    The hashes stored are kept per process (engine/settings_cache.py), so a known template costs no statement. On
    SQLite storing one changes the settings generation (the step may still roll it back); on PostgreSQL a version
    found or stored is committed and is added to the kept snapshot (its insert changes no generation)."""
    if sha in settings_cache.cached(session, "document_template_versions", _read_versions):
        return sha
    bind = session.get_bind()
    if session.scalar(select(DocumentTemplateVersion.sha256).where(DocumentTemplateVersion.sha256 == sha)):
        if bind.dialect.name == "postgresql":
            settings_cache.add_to(session, "document_template_versions", sha)
        return sha
    row = {"sha256": sha, "docx": template, "created_at": clock.now()}
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        with bind.engine.connect() as own:
            own.execute(pg_insert(DocumentTemplateVersion).values(**row).on_conflict_do_nothing())
            own.commit()
        settings_cache.add_to(session, "document_template_versions", sha)  # committed; its insert changes no generation
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(DocumentTemplateVersion).values(**row).on_conflict_do_nothing())
    return sha


def docx_of(session: Session, document: OfficialDocument) -> bytes:
    """The document's .docx: rendered on first use from the values and the template version its step fixed, and
    kept (so every later download is the same file)."""
    if document.docx is None:
        version = session.get(DocumentTemplateVersion, document.template_sha256)
        if version is None or document.context is None:
            raise ConflictError(f"公文 {document.number} 的模板版本缺失，无法生成文件，请联系系统管理员")
        document.docx = _render(version.docx, document.context)
        session.flush()
    return document.docx


def documents_of(session: Session, complaint: Complaint) -> list[OfficialDocument]:
    return list(session.scalars(select(OfficialDocument).where(OfficialDocument.complaint_id == complaint.id)
                                .order_by(OfficialDocument.created_at, OfficialDocument.id)))


def document_for(session: Session, document_id: int, official: Official) -> OfficialDocument:
    """A document, for someone who may see its case (`view_case`)."""
    document = session.get(OfficialDocument, document_id)
    if document is None:
        raise NotFound("公文不存在")
    permissions.require(official, permissions.VIEW_CASE, session.get(Complaint, document.complaint_id))
    return document


def file_name(document: OfficialDocument, suffix: str) -> str:
    return f"{document.title}-{document.number}.{suffix}"


def pdf_available() -> bool:
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None


def to_pdf(session: Session, document: OfficialDocument, timeout: float = 120) -> bytes:
    """The document as PDF through LibreOffice (headless, a profile of its own per call); 409 without it."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        raise ConflictError("服务器未安装 LibreOffice，暂不能导出 PDF，请下载 .docx 文件")
    with tempfile.TemporaryDirectory(prefix="lvyue-pdf-") as work:
        folder = Path(work)
        source = folder / "document.docx"
        source.write_bytes(docx_of(session, document))
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, our own file
                [binary, f"-env:UserInstallation=file://{folder / 'profile'}", "--headless", "--convert-to", "pdf",
                 "--outdir", str(folder), str(source)], check=True, capture_output=True, timeout=timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            logger.warning("PDF conversion of document %s failed: %s", document.id, exc)
            raise ConflictError("PDF 转换失败，请稍后重试或下载 .docx 文件") from exc
        return (folder / "document.pdf").read_bytes()


# --- rendering ----------------------------------------------------------------------------------------------

def chinese_date(day: date) -> str:
    """2026-03-02 → 二〇二六年三月二日 (成文日期 in GB/T 9704)."""
    def number(n: int) -> str:
        if n < 10:
            return _CN_DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("十" if tens == 1 else _CN_DIGITS[tens] + "十") + (_CN_DIGITS[ones] if ones else "")

    return "".join(_CN_DIGITS[int(c)] for c in str(day.year)) + f"年{number(day.month)}月{number(day.day)}日"


def _context(session: Session, complaint: Complaint, case_event: CaseEvent, issuer: Department, number: str,
             recipient: str, copy_to: str, moment: datetime) -> dict[str, Any]:
    form = (case_event.data or {}).get("form") or {}
    deadline = form.get("deadline")
    record = None
    if case_event.kind == "task_completed" and (case_event.data or {}).get("task") == "ndrc_review":
        from engine.credit.services import record_for_complaint

        record = record_for_complaint(session, complaint.id)
    return {
        "issuer": issuer.name, "number": number, "recipient": recipient, "copy_to": copy_to,
        "date_cn": chinese_date(moment.astimezone(SHANGHAI).date()),
        "tracking_code": complaint.tracking_code, "complainant": complaint.complainant_name,
        "respondent": complaint.respondent_name, "agreement": complaint.agreement_name,
        "facts": complaint.facts, "claims": complaint.claims,
        "received_cn": chinese_date(as_utc(complaint.received_at).astimezone(SHANGHAI).date()),
        "reason": REJECTION_REASONS.get(form.get("reason"), "不符合受理条件"),
        "outcome": OUTCOMES.get(form.get("outcome"), "已完成核实"),
        "explanation": form.get("explanation") or "",
        "requirements": form.get("requirements") or "",
        "deadline_cn": chinese_date(date.fromisoformat(deadline)) if deadline else "规定期限",
        "breach_facts": form.get("facts") or (record.facts if record else ""),
        "basis": form.get("basis") or (record.basis if record else ""),
        "severity": SEVERITY.get(form.get("severity"), "一般"),
        "determining": record.determining_name if record else (complaint.supervisor.name if complaint.supervisor else ""),
        "determination_number": record.document_number if record else "",
        "result": result_label(complaint.result) if complaint.result else "",
    }


def _sample_context(kind: str) -> dict[str, Any]:
    return {name: "示例" for name in ("issuer", "number", "recipient", "copy_to", "date_cn", "tracking_code",
                                      "complainant", "respondent", "agreement", "facts", "claims", "received_cn",
                                      "reason", "outcome", "explanation", "requirements", "deadline_cn",
                                      "breach_facts", "basis", "severity", "determining", "determination_number",
                                      "result")} | {"kind": kind}


def _render(template: bytes, context: dict[str, Any]) -> bytes:
    doc = DocxTemplate(io.BytesIO(template))
    doc.render(context, autoescape=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- issued with the step that made the decision ------------------------------------------------------------

_PENDING = "lvyue_documents_pending"
_EVENT_KINDS = frozenset(rule.event_kind for rule in DOCUMENTS)


@orm_event.listens_for(Session, "before_flush")
def _note_decisions(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, CaseEvent) and obj.kind in _EVENT_KINDS and obj.complaint_id is not None:
            rule = next((r for r in DOCUMENTS if r.matches(obj)), None)
            if rule is not None:
                session.info.setdefault(_PENDING, []).append((obj, rule))


@orm_event.listens_for(Session, "after_flush_postexec")
def _issue_noted(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    for case_event, rule in pending:
        issue(session, case_event, rule)  # added now, written by the next flush (commit flushes until clean)


@orm_event.listens_for(Session, "after_rollback")
def _forget_noted(session: Session) -> None:
    session.info.pop(_PENDING, None)


def count_issued(session: Session, department_id: int, year: int) -> int:
    return int(session.scalar(select(func.count()).select_from(OfficialDocument).where(
        OfficialDocument.department_id == department_id, OfficialDocument.year == year)) or 0)
