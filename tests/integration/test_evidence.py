"""Evidence files: public column, officials' form, channel API; type sniffed from the content, limits with
Chinese messages and nothing stored half; random names outside the web root with sha256; downloads only for
officials who may see the case; merging keeps every file on the surviving case."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.intake import evidence
from engine.intake.models import DuplicateCandidate, EvidenceFile
from engine.intake.services import create_channel_key
from tests.evidence_samples import DOCM, DOCX, EXE, HTML, JPEG, ODT, OLE, PDF, PLAIN_ZIP, PNG, XLSX, files
from tests.integration.test_channels import BASE, REWORDED
from tests.integration.test_contact_data import case_at_rectification  # noqa: F401  (fixture)
from tests.integration.test_public import FORM


@pytest.fixture
def store(app, tmp_path: Path, monkeypatch) -> Path:  # noqa: ANN001
    """A fresh evidence directory with small limits for this test."""
    from web.public import limiter

    directory = tmp_path / "evidence"
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(directory))
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_FILE_BYTES", 64 * 1024)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_FILES", 3)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_TOTAL_BYTES", 512 * 1024)
    with app.app_context():
        limiter.reset()
    return directory


def _stored(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def _counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(Complaint)),
            session.scalar(select(func.count()).select_from(EvidenceFile)))


def _fetch(get, url: str):  # noqa: ANN001, ANN202
    """GET a download and close the response (send_file keeps the file open until then)."""
    response = get(url)
    response.get_data()
    response.close()
    return response


def _public(client, *pairs: tuple[str, bytes], **changes: str):  # noqa: ANN001, ANN202
    return client.post("/public/complaints/new", data={**FORM, **changes, "evidence": files(*pairs)},
                       content_type="multipart/form-data")


def test_sniffing_trusts_the_content_not_the_name(tmp_path: Path) -> None:
    expected = {"a.pdf": (PDF, "pdf"), "b.png": (PNG, "png"), "c.jpg": (JPEG, "jpeg"), "d.docx": (DOCX, "docx"),
                "e.xlsx": (XLSX, "xlsx"), "f.odt": (ODT, "odt"), "g.doc": (OLE, "ole"), "h.pdf": (EXE, None),
                "i.zip": (PLAIN_ZIP, None), "j.docx": (DOCM, "macro"), "k.pdf": (HTML, None)}
    for name, (data, kind) in expected.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert evidence.sniff(path) == kind, name


def test_public_complaint_with_files_stores_them_under_random_names(client, store, session, api) -> None:  # noqa: ANN001
    done = _public(client, ("投资协议.pdf", PDF), ("付款催告函.docx", DOCX), ("现场照片.JPG", JPEG))
    assert done.status_code == 303, done.get_data(as_text=True)
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "投资协议.pdf" in receipt
    assert "现场照片.JPG" in receipt
    complaint = session.scalar(select(Complaint))
    rows = session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [(r.original_name, r.kind, r.source) for r in rows] == [
        ("投资协议.pdf", "pdf", "complainant"), ("付款催告函.docx", "docx", "complainant"),
        ("现场照片.JPG", "jpeg", "complainant")]
    stored = _stored(store)
    assert len(stored) == 3
    assert all("." not in p.name and p.name in {r.storage_name for r in rows} for p in stored)  # random, no extension
    assert rows[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert rows[0].size_bytes == len(PDF)
    assert not _stored(store / ".incoming")

    ndrc = api("ndrc")
    listed = ndrc.get(f"/api/v1/complaints/{complaint.id}/evidence").get_json()
    assert [f["original_name"] for f in listed] == ["投资协议.pdf", "付款催告函.docx", "现场照片.JPG"]
    got = _fetch(ndrc.get, listed[0]["download_url"])
    assert got.status_code == 200
    assert got.data == PDF
    assert got.mimetype == "application/pdf"
    assert "attachment" in got.headers["Content-Disposition"]
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert api("qj-commerce").get(listed[0]["download_url"]).status_code == 403  # not a party to the case
    assert api("qj-commerce").get(f"/api/v1/complaints/{complaint.id}/evidence").status_code == 403
    assert client.get(listed[0]["download_url"]).status_code == 401


_NONE_KEPT = "所有文件均未保存"


@pytest.mark.parametrize(("pairs", "message", "outcome"), [
    ((("合同.pdf", EXE),), "内容不符", _NONE_KEPT),  # an executable disguised by its extension
    ((("说明.pdf", HTML),), "内容不符", _NONE_KEPT),
    ((("照片.pdf", PNG),), "与扩展名 .pdf 不符", _NONE_KEPT),
    ((("宏.docx", DOCM),), "含有宏", _NONE_KEPT),
    ((("程序.exe", EXE),), "类型不在允许范围内", _NONE_KEPT),
    ((("大文件.pdf", PDF + b"0" * (70 * 1024)),), "超过 64 KB 的大小限制", _NONE_KEPT),
    ((("a.pdf", PDF), ("b.pdf", PDF), ("c.pdf", PDF), ("d.pdf", PDF)), "一次最多上传 3 个文件",
     "您选择了 4 个"),
    ((("好的.pdf", PDF), ("坏的.pdf", EXE)), "坏的.pdf", _NONE_KEPT),  # one bad file: none of them is kept
])
def test_bad_files_are_refused_in_chinese_and_nothing_is_stored(client, store, session, pairs, message,  # noqa: ANN001
                                                               outcome) -> None:  # noqa: ANN001
    refused = _public(client, *pairs)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422, html
    assert message in html
    assert outcome in html
    assert _counts(session) == (0, 0)
    assert _stored(store) == []


def test_field_and_file_errors_are_shown_together(client, store, session) -> None:  # noqa: ANN001
    refused = _public(client, ("合同.pdf", EXE), complainant_uscc="91350203M0001QAY9B")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "校验位不正确" in html
    assert "合同.pdf" in html
    assert _counts(session) == (0, 0)
    assert _stored(store) == []


def test_body_over_the_total_limit_is_413_in_chinese(client, store, session) -> None:  # noqa: ANN001
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    big = FileStorage(io.BytesIO(PDF + b"0" * (3 * 1024 * 1024)), "大.pdf", "evidence")
    boundary, body = encode_multipart(MultiDict([*FORM.items(), ("evidence", big)]))
    huge = client.post("/public/complaints/new", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert huge.status_code == 413
    assert "提交的内容过大" in huge.get_data(as_text=True)
    assert _counts(session) == (0, 0)
    small = FileStorage(io.BytesIO(PDF), "a.pdf", "evidence")
    boundary, body = encode_multipart(MultiDict([*{**FORM, "facts": "事" * (600 * 1024)}.items(), ("evidence", small)]))
    long_text = client.post("/public/complaints/new", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}")
    assert long_text.status_code == 413  # a text part beyond MAX_FORM_MEMORY_SIZE
    assert _counts(session) == (0, 0)


def test_scanner_hook_refuses_infected_files(app, client, store, session, monkeypatch) -> None:  # noqa: ANN001
    seen = []

    def scanner(path: Path, name: str) -> str | None:
        seen.append((path.read_bytes()[:5], name))
        return "Eicar-Test-Signature" if name.startswith("病毒") else None

    monkeypatch.setitem(app.config, "EVIDENCE_SCANNER", scanner)
    refused = _public(client, ("正常.pdf", PDF), ("病毒.pdf", PDF))
    assert refused.status_code == 422
    assert "未通过病毒扫描（Eicar-Test-Signature）" in refused.get_data(as_text=True)
    assert _counts(session) == (0, 0)
    assert _stored(store) == []
    assert seen == [(b"%PDF-", "正常.pdf"), (b"%PDF-", "病毒.pdf")]
    assert _public(client, ("正常.pdf", PDF)).status_code == 303


def test_files_written_in_a_rolled_back_transaction_are_deleted(app, client, store, session) -> None:  # noqa: ANN001
    from engine.org.models import Official
    from web.extensions import db
    from web.uploads import policy

    assert _public(client).status_code == 303
    complaint = session.scalar(select(Complaint))
    with app.test_request_context():
        rules = policy()
        official = db.session.scalar(select(Official).where(Official.username == "intake"))
        rows = evidence.add_by_official(db.session, complaint.id, official,
                                        [evidence.Upload("协议.pdf", io.BytesIO(PDF))], rules)
        assert len(rows) == 1
        assert len(_stored(store)) == 1
        db.session.rollback()  # e.g. a later step of the same request failed
    assert _stored(store) == []
    assert _counts(session) == (1, 0)


def test_channel_uploads_to_its_own_complaint_and_cannot_download(client, store, session, api) -> None:  # noqa: ANN001
    _row, key = create_channel_key(session, "hotline_12345")
    _row, other = create_channel_key(session, "petition")
    session.commit()
    cid = client.post("/api/v1/complaints", json={**BASE, "external_ref": "12345-E"},
                      headers={"X-Api-Key": key}).get_json()["id"]
    url = f"/api/v1/complaints/{cid}/evidence"
    sent = client.post(url, data={"evidence": files(("录音整理.docx", DOCX), ("协议.pdf", PDF))},
                       headers={"X-Api-Key": key}, content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_json()
    assert [(f["kind"], f["source"], f["channel"]) for f in sent.get_json()] == [
        ("docx", "channel", "hotline_12345"), ("pdf", "channel", "hotline_12345")]
    bad = client.post(url, data={"evidence": files(("协议.pdf", EXE))}, headers={"X-Api-Key": key},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "内容不符" in bad.get_json()["errors"]["evidence"]
    empty = client.post(url, data={}, headers={"X-Api-Key": key}, content_type="multipart/form-data")
    assert empty.status_code == 422
    assert client.post(url, data={"evidence": files(("协议.pdf", PDF))}, headers={"X-Api-Key": other},
                       content_type="multipart/form-data").status_code == 403
    assert len(client.get(url, headers={"X-Api-Key": key}).get_json()) == 2
    download = sent.get_json()[0]["download_url"]
    assert client.get(download, headers={"X-Api-Key": key}).status_code == 403
    assert _fetch(api("intake").get, download).data == DOCX
    assert _counts(session) == (1, 2)


def test_merge_keeps_every_file_on_the_surviving_case(client, store, session, api) -> None:  # noqa: ANN001
    _row, key = create_channel_key(session, "hotline_12345")
    session.commit()
    older = client.post("/api/v1/complaints", json={**BASE, "external_ref": "12345-F"},
                        headers={"X-Api-Key": key}).get_json()["id"]
    client.post(f"/api/v1/complaints/{older}/evidence", data={"evidence": files(("协议.pdf", PDF))},
                headers={"X-Api-Key": key}, content_type="multipart/form-data")
    assert _public(client, ("催款函.png", PNG), facts=REWORDED).status_code == 303
    candidate = session.scalar(select(DuplicateCandidate))
    assert candidate is not None
    newer = candidate.complaint_id
    assert api("intake").post(f"/api/v1/duplicates/{candidate.id}/merge").status_code == 200
    names = [f["original_name"] for f in api("intake").get(f"/api/v1/complaints/{older}/evidence").get_json()]
    assert sorted(names) == sorted(["协议.pdf", "催款函.png"])
    assert api("intake").get(f"/api/v1/complaints/{newer}/evidence").get_json() == []
    moved = session.scalar(select(EvidenceFile).where(EvidenceFile.original_name == "催款函.png"))
    session.refresh(moved)
    assert (moved.complaint_id, moved.merged_from_id) == (older, newer)


def test_officials_form_takes_files_and_checks_duplicates(client, store, session, demo_password) -> None:  # noqa: ANN001
    assert client.post("/login", data={"username": "intake", "password": demo_password}).status_code == 302
    form = {k: v for k, v in BASE.items()}
    first = client.post("/cases/new", data={**form, "evidence": files(("协议.pdf", PDF))},
                        content_type="multipart/form-data")
    assert first.status_code == 303, first.get_data(as_text=True)
    bad = client.post("/cases/new", data={**form, "facts": REWORDED, "evidence": files(("协议.pdf", EXE))},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "内容不符" in bad.get_data(as_text=True)
    assert _counts(session) == (1, 1)
    second = client.post("/cases/new", data={**form, "facts": REWORDED}, content_type="multipart/form-data")
    assert second.status_code == 303
    assert session.scalar(select(func.count()).select_from(DuplicateCandidate)) == 1  # dedup from the web form

    case_url = first.headers["Location"]
    page = client.get(case_url).get_data(as_text=True)
    assert "协议.pdf" in page
    complaint_id = int(case_url.rstrip("/").rsplit("/", 1)[-1])
    added = client.post(f"/cases/{complaint_id}/evidence", data={"evidence": files(("补充.xlsx", XLSX))},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "已保存 1 个证据材料" in added.get_data(as_text=True)
    row = session.scalar(select(EvidenceFile).where(EvidenceFile.original_name == "补充.xlsx"))
    got = _fetch(client.get, f"/cases/evidence/{row.id}")
    assert got.status_code == 200
    assert got.data == XLSX
    client.post("/logout")
    client.post("/login", data={"username": "qj-commerce", "password": demo_password})
    assert client.get(f"/cases/evidence/{row.id}").status_code == 403


def test_script_tags_are_stored_as_text_and_escaped_everywhere(app, client, store, session, demo_password) -> None:  # noqa: ANN001
    script = "<script>alert(1)</script>"
    image = "<img src=x onerror=alert(2)>"  # a file name cannot hold "/" (directory parts are dropped)
    done = _public(client, (f"{image}.pdf", PDF), complainant_name=f"滇信{script}", facts=f"未兑现。{script}")
    assert done.status_code == 303
    complaint = session.scalar(select(Complaint))
    assert complaint.facts.endswith(script)  # stored exactly as sent
    assert session.scalar(select(EvidenceFile.original_name)) == f"{image}.pdf"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages = [client.get(done.headers["Location"]).get_data(as_text=True),
             client.post("/public/track", data={"tracking_code": complaint.tracking_code,
                                                "phone_last4": "1234"}).get_data(as_text=True)]
    officials = app.test_client()
    officials.post("/login", data={"username": "intake", "password": demo_password})
    pages.append(officials.get(f"/cases/{complaint.id}").get_data(as_text=True))
    for html in pages:
        assert script not in html
        assert image not in html
        assert "&lt;img src=x onerror=alert(2)&gt;.pdf" in html  # the file name, as text
    assert escaped in pages[0]  # receipt: the company name
    assert escaped in pages[2]  # case page: company name and facts


HANDLERS = ("intake", "ndrc", "km-commerce", "km-commerce-lead")  # DRC, intake, the determining department
ONLOOKERS = ("km-drc", "guandu-commerce", "procadmin")  # prefecture overview, the respondent, process admin


def _add(caller, cid: int, name: str):  # noqa: ANN001, ANN202
    return caller.post(f"/api/v1/complaints/{cid}/evidence", data={"evidence": files((name, PDF))},
                       content_type="multipart/form-data")


def test_evidence_is_read_and_added_only_by_the_handlers_of_an_open_case(store, api,  # noqa: ANN001
                                                                         case_at_rectification) -> None:  # noqa: F811
    cid = case_at_rectification
    added = _add(api("intake"), cid, "营业执照.pdf")
    assert added.status_code == 201, added.get_json()
    [row] = added.get_json()
    for username in HANDLERS:
        assert _fetch(api(username).get, row["download_url"]).status_code == 200, username
        assert _fetch(api(username).get, f"/cases/evidence/{row['id']}").status_code == 200, username
        assert [f["id"] for f in api(username).get(f"/api/v1/complaints/{cid}/evidence").get_json()][0] == row["id"]
        assert _add(api(username), cid, f"{username}.pdf").status_code == 201, username
        assert f"/cases/evidence/{row['id']}" in api(username).get(f"/cases/{cid}").get_data(as_text=True)
    for username in ONLOOKERS:
        caller = api(username)
        assert caller.get(f"/cases/{cid}").status_code == 200, username  # the case itself they may see
        denied = caller.get(row["download_url"])
        assert denied.status_code == 403, username
        if username != "procadmin":  # the process admin's roles grant no evidence at all: the plain 403
            assert "证据材料仅省发展改革委、受理登记人员和承办部门可以查看" in denied.get_json()["message"]
        assert caller.get(f"/cases/evidence/{row['id']}").status_code == 403, username
        assert caller.get(f"/api/v1/complaints/{cid}/evidence").status_code == 403, username
        assert _add(caller, cid, "x.pdf").status_code == 403, username
        page = caller.get(f"/cases/{cid}").get_data(as_text=True)
        assert f"/cases/evidence/{row['id']}" not in page, username  # the history still names the file
        assert "仅省发展改革委、受理登记人员和承办部门可以查看" in page, username
        assert "补充上传" not in page, username


def test_no_evidence_is_added_to_a_closed_case(store, api) -> None:  # noqa: ANN001
    from tests.conftest import COMPLAINT

    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    [task] = intake.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"]
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={
        "accepted": False, "reason": "out_of_scope", "remarks": "不属于受理范围"}).status_code == 200
    refused = _add(intake, cid, "迟到的材料.pdf")
    assert refused.status_code == 409
    assert "已办结" in refused.get_json()["message"]
    assert "补充上传" not in intake.get(f"/cases/{cid}").get_data(as_text=True)
    assert intake.get(f"/api/v1/complaints/{cid}/evidence").get_json() == []
