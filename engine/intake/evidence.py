"""Evidence files: type sniffed from the content, size and count limits, a virus-scan hook, storage outside
the web root under random names with their sha256, and downloads only for officials who may see the case.

Two phases keep "nothing stored half": `stage` streams every upload into a temporary file and checks it
(all problems of all files are collected; on any problem every staged file is deleted and `FormInvalid`
is raised); `keep` moves the staged files to their final random names and adds the rows. If the caller's
transaction is then rolled back, the files written in it are deleted again (session event hooks below).
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import os
import secrets
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.access import CLOSED_STATUSES
from engine.cases.models import CaseEvent, Complaint
from engine.cases.services import can_view_case
from engine.db import as_utc, utcnow
from engine.errors import ConflictError, EngineError, FormInvalid, NotFound, PermissionDenied
from engine.intake import ole
from engine.intake.models import EvidenceFile
from engine.org import permissions
from engine.org.models import Official

logger = logging.getLogger(__name__)

MB = 1024 * 1024
CHUNK = 64 * 1024
FIELD = "evidence"
# kind → (label, content type, extensions the file may carry)
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pdf": ("PDF 文档", "application/pdf", (".pdf",)),
    "png": ("PNG 图片", "image/png", (".png",)),
    "jpeg": ("JPEG 图片", "image/jpeg", (".jpg", ".jpeg", ".jpe")),
    "gif": ("GIF 图片", "image/gif", (".gif",)),
    "webp": ("WebP 图片", "image/webp", (".webp",)),
    "bmp": ("BMP 图片", "image/bmp", (".bmp",)),
    "tiff": ("TIFF 图片", "image/tiff", (".tif", ".tiff")),
    "ole": ("Word/Excel/PowerPoint 97–2003 或 WPS 文档", "application/octet-stream",
            (".doc", ".xls", ".ppt", ".wps", ".et", ".dps")),
    "docx": ("Word 文档", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "xlsx": ("Excel 表格", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "pptx": ("PowerPoint 演示文稿", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             (".pptx",)),
    "odt": ("OpenDocument 文本", "application/vnd.oasis.opendocument.text", (".odt",)),
    "ods": ("OpenDocument 表格", "application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
    "odp": ("OpenDocument 演示文稿", "application/vnd.oasis.opendocument.presentation", (".odp",)),
    "ofd": ("OFD 版式文档", "application/ofd", (".ofd",)),
}
OLE_TYPES = {".doc": "application/msword", ".xls": "application/vnd.ms-excel",
             ".ppt": "application/vnd.ms-powerpoint"}
OLE_REFUSALS = {  # engine/intake/ole.py
    ole.MACRO: "文件「{name}」含有宏，为安全起见不予接收，请另存为不含宏的文档或 PDF。",
    ole.EXECUTABLE: "文件「{name}」内嵌可执行程序或脚本，为安全起见不予接收，请删除嵌入的对象或另存为 PDF。",
    ole.DAMAGED: "文件「{name}」不是完整有效的 Word/Excel/PowerPoint 97–2003 或 WPS 文档，未予接收。",
}
ALLOWED_EXTENSIONS = tuple(ext for _l, _t, exts in KINDS.values() for ext in exts)
ACCEPT = ",".join(ALLOWED_EXTENSIONS)  # for <input type=file accept=…>
ALLOWED_TEXT = "PDF、图片（JPG/PNG/GIF/WebP/BMP/TIFF）、Word/Excel/PowerPoint/WPS、OpenDocument、OFD"
_ODF = {"application/vnd.oasis.opendocument.text": "odt", "application/vnd.oasis.opendocument.spreadsheet": "ods",
        "application/vnd.oasis.opendocument.presentation": "odp"}

class ScanUnavailable(EngineError):
    """The configured virus scanner failed (not: found something); nothing is stored."""

    http_status = 503


Scanner = Callable[[Path, str], "str | None"]  # (staged file, original name) → reason to refuse, or None


@dataclass(frozen=True)
class EvidencePolicy:
    """Where files go and the limits; built by the web layer from EVIDENCE_* settings."""

    directory: Path
    max_file_bytes: int = 10 * MB
    max_files: int = 10  # per submission
    max_case_files: int = 50  # on one case, all submissions together
    scanner: Scanner | None = None

    @classmethod
    def from_config(cls, config: Any, instance_path: str) -> EvidencePolicy:
        scanner = config.get("EVIDENCE_SCANNER")
        if isinstance(scanner, str) and scanner:
            module, _, name = scanner.partition(":")
            scanner = getattr(importlib.import_module(module), name)
        return cls(directory=Path(config.get("EVIDENCE_DIR") or os.path.join(instance_path, "evidence")),
                   max_file_bytes=int(config.get("EVIDENCE_MAX_FILE_BYTES", 10 * MB)),
                   max_files=int(config.get("EVIDENCE_MAX_FILES", 10)),
                   max_case_files=int(config.get("EVIDENCE_MAX_CASE_FILES", 50)),
                   scanner=scanner or None)


@dataclass
class Upload:
    """One uploaded file as the web layer hands it over: the sender's file name and a binary stream."""

    filename: str
    stream: IO[bytes]


@dataclass
class Staged:
    """A checked upload in a temporary file, waiting for `keep`."""

    path: Path
    original_name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    problems: list[str] = field(default_factory=list)


def limits_text(policy: EvidencePolicy) -> str:
    return (f"可上传 {ALLOWED_TEXT}；每次最多 {policy.max_files} 个文件，"
            f"每个不超过 {_size(policy.max_file_bytes)}。")


def sniff(path: Path) -> str | None:
    """The kind of a file from its first bytes (and, for ZIP containers, the names inside), or None."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 14:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    return None


def stage(uploads: Iterable[Upload], policy: EvidencePolicy, already: int = 0) -> list[Staged]:
    """Stream each upload into a temporary file and check it; all or nothing (FormInvalid, files deleted)."""
    uploads = list(uploads)
    if not uploads:
        return []
    if len(uploads) > policy.max_files:
        raise FormInvalid({FIELD: f"一次最多上传 {policy.max_files} 个文件，您选择了 {len(uploads)} 个。"})
    if already + len(uploads) > policy.max_case_files:
        raise FormInvalid({FIELD: f"每件投诉最多保存 {policy.max_case_files} 个证据材料，已有 {already} 个。"})
    incoming = policy.directory / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    staged: list[Staged] = []
    try:
        for upload in uploads:
            staged.append(_stage_one(upload, policy, incoming))
        problems = [p for s in staged for p in s.problems]
        if not problems and policy.scanner is not None:
            for item in staged:
                try:
                    reason = policy.scanner(item.path, item.original_name)
                except Exception as exc:
                    logger.error("virus scanner failed on %s: %s", item.original_name, exc)
                    raise ScanUnavailable("暂时无法完成病毒扫描，材料未保存，请稍后重新提交。") from exc
                if reason:
                    problems.append(f"文件「{item.original_name}」未通过病毒扫描（{reason}），未予接收。")
        if problems:
            raise FormInvalid({FIELD: "".join(problems) + "所有文件均未保存，请处理后重新选择全部文件。"})
    except BaseException:
        discard(staged)
        raise
    return staged


def discard(staged: Iterable[Staged]) -> None:
    for item in staged:
        item.path.unlink(missing_ok=True)


def keep(session: Session, complaint: Complaint, staged: list[Staged], policy: EvidencePolicy, source: str,
         actor: Official | None = None, channel: str | None = None, supplement_id: int | None = None,
         now: datetime | None = None) -> list[EvidenceFile]:
    """Move staged files to random names under the evidence directory and add their rows (flushes)."""
    moment = as_utc(now) or utcnow()
    rows = []
    written = session.info.setdefault(_WRITTEN, [])
    for item in staged:
        name = secrets.token_hex(20)
        target = policy.directory / name[:2] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item.path, target)
        written.append(target)
        rows.append(EvidenceFile(
            complaint_id=complaint.id, original_name=item.original_name, kind=item.kind,
            content_type=item.content_type, size_bytes=item.size, sha256=item.sha256, storage_name=name,
            source=source, channel=channel, uploaded_by_id=actor.id if actor else None, uploaded_at=moment,
            supplement_id=supplement_id))
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    who = actor.label if actor else ("投诉人" if source == "complainant" else f"渠道 {channel}")
    session.add(CaseEvent(
        complaint_id=complaint.id, at=moment, actor_id=actor.id if actor else None, actor_label=who,
        kind="evidence_added", summary="上传证据材料：" + "、".join(f"{r.original_name}（{_size(r.size_bytes)}）" for r in rows),
        data={"evidence_ids": [r.id for r in rows], "supplement_id": supplement_id}))
    audit(session, "evidence_added", actor or who, "complaint", complaint.id, complaint_id=complaint.id,
          after={"files": [{"id": r.id, "sha256": r.sha256, "kind": r.kind, "size": r.size_bytes} for r in rows]})
    logger.info("complaint %s: %d evidence file(s) from %s", complaint.id, len(rows), source)
    return rows


def attach(session: Session, complaint: Complaint, uploads: Iterable[Upload], policy: EvidencePolicy, source: str,
           actor: Official | None = None, channel: str | None = None, supplement_id: int | None = None,
           now: datetime | None = None) -> list[EvidenceFile]:
    """Stage and keep in one call (for adding files to an existing case)."""
    staged = stage(uploads, policy, already=count_for(session, complaint))
    return keep(session, complaint, staged, policy, source, actor, channel, supplement_id, now)


def add_by_official(session: Session, complaint_id: int, official: Official, uploads: Iterable[Upload],
                    policy: EvidencePolicy, supplement_id: int | None = None) -> list[EvidenceFile]:
    """Files a handler of an open case adds (e.g. material the complainant handed in at the counter)."""
    complaint = case_to_add_to(session, complaint_id, official)
    return attach(session, complaint, uploads, policy, "official", actor=official, supplement_id=supplement_id)


def case_to_add_to(session: Session, complaint_id: int, official: Official) -> Complaint:
    """The case, if `official` may add files to it (`add_evidence`: the provincial DRC, intake, the handling
    departments — never the respondent or onlookers — and only while it is open); check before reading files."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("投诉不存在")
    if not can_view_case(session, official, complaint):
        raise PermissionDenied("您无权查看该案件")
    if permissions.allowed(official, permissions.VIEW_EVIDENCE, complaint):
        ensure_open(complaint)  # a handler, but the case is over: say so (409) rather than 403
    permissions.require(official, permissions.ADD_EVIDENCE, complaint)
    return complaint


def ensure_open(complaint: Complaint) -> None:
    """No files are added to a closed or merged case (ConflictError)."""
    if complaint.status in CLOSED_STATUSES:
        raise ConflictError("案件已办结，不能再补充证据材料；如有新的材料，可以提出异议或重新投诉")


def files_for(session: Session, complaint: Complaint, official: Official) -> list[EvidenceFile]:
    """`files_of` for an official who may read the case's evidence (`view_evidence`), else PermissionDenied."""
    permissions.require(official, permissions.VIEW_EVIDENCE, complaint)
    return files_of(session, complaint)


def count_for(session: Session, complaint: Complaint) -> int:
    return int(session.scalar(select(func.count()).select_from(EvidenceFile)
                              .where(EvidenceFile.complaint_id == complaint.id)) or 0)


def files_of(session: Session, complaint: Complaint) -> list[EvidenceFile]:
    """Every file on the case (including those of cases merged into it), oldest first."""
    return list(session.scalars(select(EvidenceFile).where(EvidenceFile.complaint_id == complaint.id)
                                .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)))


def files_submitted_with(session: Session, complaint: Complaint) -> list[EvidenceFile]:
    """Files the complainant of `complaint` sent through the column, a channel or a 补正 answer (also after it
    was merged into another case); files officials added are not listed to the complainant."""
    return list(session.scalars(select(EvidenceFile).where(
        or_(and_(EvidenceFile.complaint_id == complaint.id, EvidenceFile.merged_from_id.is_(None)),
            EvidenceFile.merged_from_id == complaint.id),
        EvidenceFile.source.in_(("complainant", "channel"))).order_by(EvidenceFile.uploaded_at, EvidenceFile.id)))


def open_for(session: Session, evidence_id: int, official: Official, policy: EvidencePolicy) -> tuple[EvidenceFile, Path]:
    """(row, path) of a file for an official who may read its case's evidence (`view_evidence`: the provincial
    DRC, intake, the handling departments — never the respondent, onlookers or administrators); audited."""
    row = session.get(EvidenceFile, evidence_id)
    if row is None:
        raise NotFound("证据材料不存在")
    complaint = session.get(Complaint, row.complaint_id)
    if complaint is None:
        raise NotFound("证据材料不存在")
    permissions.require(official, permissions.VIEW_EVIDENCE, complaint)
    path = path_of(row, policy)
    if not path.is_file():
        raise NotFound("证据材料文件已不在存储目录中，请联系系统管理员")
    audit(session, "evidence_downloaded", official, "evidence_file", row.id, complaint_id=row.complaint_id,
          after={"sha256": row.sha256})
    return row, path


def path_of(row: EvidenceFile, policy: EvidencePolicy) -> Path:
    return policy.directory / row.storage_name[:2] / row.storage_name


def download_name(row: EvidenceFile) -> str:
    return row.original_name


def kind_label(kind: str) -> str:
    return KINDS.get(kind, (kind,))[0]


def clamdscan(path: Path, _name: str) -> str | None:
    """Example scanner for EVIDENCE_SCANNER="engine.intake.evidence:clamdscan" (ClamAV's clamd must run)."""
    import subprocess

    done = subprocess.run(["clamdscan", "--no-summary", "--fdpass", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode == 0:
        return None
    if done.returncode == 1:
        return done.stdout.strip().rsplit(":", 1)[-1].strip() or "发现病毒"
    raise RuntimeError(f"clamdscan failed: {done.stderr.strip()}")


# --- internals ----------------------------------------------------------------------------------------

def _stage_one(upload: Upload, policy: EvidencePolicy, incoming: Path) -> Staged:
    name = _clean_name(upload.filename)
    path = incoming / secrets.token_hex(16)
    digest = hashlib.sha256()
    size = 0
    too_big = False
    with open(path, "wb") as out:
        while chunk := upload.stream.read(CHUNK):
            size += len(chunk)
            if size > policy.max_file_bytes:
                too_big = True
                break
            digest.update(chunk)
            out.write(chunk)
    item = Staged(path, name, "", "", size, digest.hexdigest())
    ext = os.path.splitext(name)[1].lower()
    if too_big:
        item.problems.append(f"文件「{name}」超过 {_size(policy.max_file_bytes)} 的大小限制。")
        return item
    if size == 0:
        item.problems.append(f"文件「{name}」是空文件。")
        return item
    if ext not in ALLOWED_EXTENSIONS:
        item.problems.append(f"文件「{name}」的类型不在允许范围内（允许：{ALLOWED_TEXT}）。")
        return item
    kind = sniff(path)
    if kind == "macro":
        item.problems.append(f"文件「{name}」含有宏，为安全起见不予接收，请另存为不含宏的文档或 PDF。")
    elif kind is None:
        item.problems.append(f"文件「{name}」的内容不是允许的文件类型（扩展名为 {ext}，但内容不符），未予接收。")
    elif ext not in KINDS[kind][2]:
        item.problems.append(f"文件「{name}」的内容是{KINDS[kind][0]}，与扩展名 {ext} 不符，请改正扩展名后重新上传。")
    elif kind == "ole" and (refused := ole.inspect(path)):
        item.problems.append(OLE_REFUSALS[refused].format(name=name))
    else:
        item.kind = kind
        item.content_type = OLE_TYPES.get(ext, KINDS[kind][1]) if kind == "ole" else KINDS[kind][1]
    return item


def _zip_kind(path: Path) -> str | None:
    """OOXML, OpenDocument or OFD by the entries of the ZIP container (central directory only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            lowered = {n.lower() for n in names}
            if any(n.endswith("vbaproject.bin") for n in lowered):
                return "macro"
            if "[content_types].xml" in lowered:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(n.startswith(prefix) for n in lowered):
                        return kind
                return None
            if "mimetype" in names:
                with archive.open("mimetype") as fh:
                    return _ODF.get(fh.read(100).decode("ascii", "replace").strip())
            if "ofd.xml" in lowered:
                return "ofd"
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return None
    return None


def _clean_name(filename: str) -> str:
    """The sender's file name without any directory part or control characters, at most 200 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "未命名文件"
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[:200 - len(ext)] + ext
    return name


def _size(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{max(n // 1024, 1)} KB"


# --- files written in a transaction that is rolled back are deleted again -------------------------------

_WRITTEN = "evidence_written"


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _delete_written(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested:  # a savepoint; the outer transaction decides
        return
    for path in session.info.pop(_WRITTEN, []):
        Path(path).unlink(missing_ok=True)
        logger.info("evidence file %s deleted: its transaction was rolled back", path)
