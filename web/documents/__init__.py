"""Formal documents (公文): download a case's documents (.docx, PDF); administrators' templates per kind."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.documents import services as documents
from engine.errors import FormInvalid
from engine.org.permissions import ADMINISTER_PROCESSES, VIEW_CASE
from web.errors import refused
from web.extensions import db
from web.permissions import requires

bp = Blueprint("documents", __name__)
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024


def send_document(document_id: int, fmt: str) -> Response:
    """A document as .docx or PDF (LibreOffice), for whoever may see its case; shared with the API."""
    document = documents.document_for(db.session, document_id, current_user)
    if fmt == "pdf":
        body, media = documents.to_pdf(db.session, document), "application/pdf"
    elif fmt == "docx":
        body, media = documents.docx_of(db.session, document), documents.DOCX
    else:
        abort(404)
    from urllib.parse import quote

    name = quote(documents.file_name(document, fmt))
    return Response(body, mimetype=media,
                    headers={"Content-Disposition": f"attachment; filename=document.{fmt}; filename*=UTF-8''{name}"})


@bp.get("/cases/documents/<int:document_id>.<fmt>")
@requires(VIEW_CASE)
def download(document_id: int, fmt: str) -> Response:
    """Download one 公文 of a case."""
    return send_document(document_id, fmt)


@bp.get("/processes/document-templates")
@requires(ADMINISTER_PROCESSES)
def templates() -> str:
    """The template of each kind: where it comes from, download, upload a replacement, back to the built-in."""
    rows = [(kind, title, documents.template_of(db.session, kind)[1]) for kind, title in documents.KINDS.items()]
    return render_template("documents/templates.html", rows=rows, pdf=documents.pdf_available())


@bp.get("/processes/document-templates/<kind>.docx")
@requires(ADMINISTER_PROCESSES)
def template_file(kind: str) -> Response:
    data, _source = documents.template_of(db.session, kind)
    return Response(data, mimetype=documents.DOCX,
                    headers={"Content-Disposition": f"attachment; filename={kind}.docx"})


@bp.post("/processes/document-templates/<kind>")
@requires(ADMINISTER_PROCESSES)
@refused(back=lambda kind: url_for("documents.templates"), errors=(FormInvalid,))
def upload_template(kind: str) -> object:
    """Replace a kind's template with an uploaded .docx (checked by rendering it once)."""
    upload = request.files.get("template")
    data = upload.read(MAX_TEMPLATE_BYTES + 1) if upload else b""
    if not data:
        raise FormInvalid({"template": "请选择 .docx 模板文件"})
    if len(data) > MAX_TEMPLATE_BYTES:
        raise FormInvalid({"template": "模板文件不超过 5 MB"})
    documents.save_template(db.session, kind, data, upload.filename or f"{kind}.docx", current_user)
    flash(f"已更新「{documents.KINDS[kind]}」模板，之后生成的公文使用新模板。", "success")
    return redirect(url_for("documents.templates"), 303)


@bp.post("/processes/document-templates/<kind>/reset")
@requires(ADMINISTER_PROCESSES)
def reset_template(kind: str) -> object:
    documents.reset_template(db.session, kind, current_user)
    flash(f"「{documents.KINDS.get(kind, kind)}」已恢复为系统内置模板。", "success")
    return redirect(url_for("documents.templates"), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
