"""Evidence uploads in the web layer: the policy from the EVIDENCE_* settings, the files of a request, and a
larger body limit only for the views that accept files (set before CSRF or any view reads the form)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request, send_file

from engine.intake.evidence import EvidenceFile, EvidencePolicy, Upload, download_name

F = TypeVar("F", bound=Callable[..., Any])


def accepts_uploads(view: F) -> F:
    """Mark a view whose requests may carry files up to EVIDENCE_MAX_TOTAL_BYTES more than MAX_CONTENT_LENGTH."""
    view.accepts_uploads = True  # type: ignore[attr-defined]
    return view


def policy() -> EvidencePolicy:
    return EvidencePolicy.from_config(current_app.config, current_app.instance_path)


def uploads(field: str = "evidence") -> list[Upload]:
    """The request's files in `field` (empty file inputs left out)."""
    return [Upload(f.filename or "", f.stream) for f in request.files.getlist(field) if f and f.filename]


def send_evidence(row: EvidenceFile, path: Any) -> Any:
    """Always as an attachment with the sniffed type; the browser never renders it inside the app."""
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=download_name(row),
                         max_age=0, etag=row.sha256, conditional=False)
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    def _upload_limit() -> None:
        view = app.view_functions.get(request.endpoint or "")
        # only multipart bodies carry files; their text parts stay limited by MAX_FORM_MEMORY_SIZE (werkzeug
        # does not apply that to url-encoded forms, so those keep MAX_CONTENT_LENGTH)
        if (view is not None and getattr(view, "accepts_uploads", False)
                and request.mimetype == "multipart/form-data"):
            request.max_content_length = (int(app.config.get("MAX_CONTENT_LENGTH") or 0)
                                          + int(app.config.get("EVIDENCE_MAX_TOTAL_BYTES", 0)))

    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)  # before CSRFProtect reads the form
