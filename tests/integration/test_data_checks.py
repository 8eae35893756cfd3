"""Data checks (issue 18, item 10): 统一社会信用代码 whose registration authority or category does not exist, or all
zeros, is refused; CSV exports neutralise formulas hidden behind leading spaces or line breaks."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.credit import services
from engine.org.models import Department
from tests.conftest import COMPLAINT

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def with_check_character(first17: str) -> str:
    """A code whose GB 32100 check character is right, so only the other rules can refuse it."""
    total = sum(CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + CHARSET[(31 - total % 31) % 31]


@pytest.mark.parametrize(("code", "words"), [
    ("000000000000000000", "全为 0"),
    (with_check_character("01530100MA5CJQ4N5"), "登记管理部门代码"),  # authority 0 does not exist
    (with_check_character("H1530100MA5CJQ4N5"), "登记管理部门代码"),
    (with_check_character("B1530100MA5CJQ4N5"), "登记管理部门代码"),
    (with_check_character("94530100MA5CJQ4N5"), "机构类别代码"),  # 工商 issues categories 1–3 only
    (with_check_character("Y2530100MA5CJQ4N5"), "机构类别代码"),
    (with_check_character("91AB0100MA5CJQ4N5"), "行政区划代码"),
])
def test_codes_of_no_real_authority_are_refused(api, code: str, words: str) -> None:  # noqa: ANN001
    assert code[-1] in CHARSET
    response = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "complainant_uscc": code})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert words in response.get_json()["errors"]["complainant_uscc"]


@pytest.mark.parametrize("code", ["91440101MA5CJQ4N59", "123502001549897397",
                                  with_check_character("N2530100MA5CJQ4N5"), with_check_character("Y1530100MA5CJQ4N5"),
                                  with_check_character("51530100MA5CJQ4N5")])
def test_codes_of_real_authorities_are_accepted(api, code: str) -> None:  # noqa: ANN001
    response = api("intake").post("/api/v1/complaints", json={**COMPLAINT, "complainant_uscc": code})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_the_public_form_refuses_an_all_zero_code(client) -> None:  # noqa: ANN001
    page = client.post("/public/complaints/new", data={**COMPLAINT, "complainant_uscc": "0" * 18})
    assert page.status_code in (200, 422)
    assert "不能全为 0" in page.get_data(as_text=True)


HIDDEN = [" =HYPERLINK(\"http://x\",\"点我\")", "\n=1+1", "\r\n+cmd", "\t @SUM(A1)", "\u3000-2+3", "  \n @x"]


@pytest.fixture
def record_id(session: Session) -> int:
    now = datetime(2026, 3, 2, 2, tzinfo=UTC)
    resp = session.scalar(select(Department).where(Department.code == "km-guandu-commerce"))
    det = session.scalar(select(Department).where(Department.code == "km-commerce"))
    record = services.create_record(
        session, now=now, source="test", respondent_id=resp.id, respondent_name=HIDDEN[0],
        respondent_division=resp.division_code, respondent_prefecture=resp.prefecture_code,
        determining_department_id=det.id, determining_name=HIDDEN[1], determined_on=date(2026, 3, 2),
        document_number=HIDDEN[2], basis=HIDDEN[3], facts=HIDDEN[4], domain="investment_promotion",
        severity="serious")
    services.apply_measure(session, record, "public_criticism", HIDDEN[5], None, None, now)
    session.commit()
    return record.id


def test_csv_export_neutralises_formulas_after_spaces_and_line_breaks(api, record_id: int) -> None:  # noqa: ANN001
    response = api("ndrc").get("/api/v1/breach-records/export?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    for text in HIDDEN[:5]:
        assert "'" + text in cells, text
    for cell in cells:
        assert not cell.lstrip(" \t\r\n\u3000").startswith(("=", "+", "-", "@")), cell


def test_xlsx_export_neutralises_them_too(api, record_id: int) -> None:  # noqa: ANN001
    from openpyxl import load_workbook

    response = api("ndrc").get("/api/v1/breach-records/export?format=xlsx")
    book = load_workbook(io.BytesIO(response.data))
    values = [c.value for ws in book.worksheets for row in ws.iter_rows(min_row=2) for c in row]
    for text in HIDDEN:
        assert "'" + text in values, text
