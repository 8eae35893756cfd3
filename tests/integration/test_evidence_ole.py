"""Office 97–2003 evidence (OLE2 compound files) is opened with olefile/oletools: macros, embedded programs and
files that only start like a compound file are refused (issue 18, item 9)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.intake.models import EvidenceFile
from tests.evidence_samples import (
    DOC_WITH_PACKAGED_PDF,
    DOC_WITH_PROGRAM,
    DOC_WITH_SCRIPT,
    OLE,
    OLE_MACRO,
    OLE_THEN_PROGRAM,
    PDF,
    PPT_WITH_CODE,
    XLS_MACRO,
    XLS_WITH_PROGRAM_STREAM,
)
from tests.integration.test_evidence import _public, store  # noqa: F401  (fixture)


@pytest.mark.parametrize(("name", "data", "words"), [
    ("协议.doc", OLE_MACRO, "含有宏"),
    ("台账.xls", XLS_MACRO, "含有宏"),
    ("汇报.ppt", PPT_WITH_CODE, "含有宏"),
    ("说明.doc", DOC_WITH_PROGRAM, "内嵌可执行程序"),
    ("说明.doc", DOC_WITH_SCRIPT, "内嵌可执行程序"),
    ("台账.xls", XLS_WITH_PROGRAM_STREAM, "内嵌可执行程序"),
    ("合同.doc", OLE_THEN_PROGRAM, "不是完整有效的"),
])
def test_ole_documents_with_macros_or_programs_are_refused(client, store, session, name: str, data: bytes,  # noqa: ANN001, F811
                                                          words: str) -> None:
    refused = _public(client, ("投资协议.pdf", PDF), (name, data))
    assert refused.status_code == 422, refused.status_code
    page = refused.get_data(as_text=True)
    assert f"文件「{name}」" in page
    assert words in page
    assert session.scalar(select(func.count()).select_from(EvidenceFile)) == 0  # nothing of the submission kept


def test_plain_ole_documents_are_accepted_with_their_type(client, store, session) -> None:  # noqa: ANN001, F811
    done = _public(client, ("决定书.doc", OLE), ("扫描件.doc", DOC_WITH_PACKAGED_PDF))
    assert done.status_code == 303, done.get_data(as_text=True)
    rows = session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [(r.original_name, r.kind, r.content_type) for r in rows] == [
        ("决定书.doc", "ole", "application/msword"), ("扫描件.doc", "ole", "application/msword")]


def test_the_api_refuses_them_too(api, store, session) -> None:  # noqa: ANN001, F811
    from tests.conftest import COMPLAINT
    from tests.evidence_samples import files

    cid = api("intake").post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    response = api("intake").post(f"/api/v1/complaints/{cid}/evidence", data={"evidence": files(("a.xls", XLS_MACRO))},
                                  content_type="multipart/form-data")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "含有宏" in response.get_json()["message"] + str(response.get_json().get("errors"))
