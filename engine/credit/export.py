"""Exports of breach records in the provincial platform's fields and codes (its profile, engine.credit.profiles):
CSV (UTF-8 with BOM), JSON and xlsx.

Spreadsheet formula injection: in CSV and xlsx every text cell starting with = + - @ (or tab/CR) gets a leading
apostrophe and is stored as text (engine.exports, shared with every other export), so Excel, WPS or LibreOffice
show it instead of running it. JSON carries the values exactly as the provincial platform receives them
(`exchange.record_body`, without the change type: an export is no change): it is data for programs, not cells.
"""
from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.credit import exchange, profiles
from engine.credit import services as credit
from engine.credit.models import BreachRecord
from engine.credit.profiles import Profile
from engine.db import as_utc
from engine.errors import FormInvalid
from engine.exports import csv_text, neutralise
from engine.org.models import Official
from engine.workflow.clock import SHANGHAI

FORMATS = ("xlsx", "csv", "json")
MEASURES_HEADER = "实施中的惩戒措施（CJCS）"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_NOT_EXPORTED = {"schema", "event", "measures", "updated_at"}  # the columns are the record's facts


def export_records(session: Session, official: Official, fmt: str, filters: dict[str, Any],
                   now: datetime | None = None) -> str | bytes:
    """The records `official` may see that match `filters` (services.search_records), in `fmt`."""
    if fmt not in FORMATS:
        raise FormInvalid({"format": "导出格式应为 xlsx、csv 或 json"})
    rows, _total = credit.search_records(session, official, **filters, limit=None)
    profile = profiles.profile_for(session, exchange.TARGET)
    if fmt == "xlsx":
        return to_xlsx(session, rows, profile, now)
    return to_csv(session, rows, profile) if fmt == "csv" else to_json(session, rows, profile)


def _columns(profile: Profile) -> list[tuple[profiles.FieldSpec, str]]:
    return [(spec, profile.fields.get(spec.key, spec.default_name)) for spec in profiles.RECORD_FIELDS
            if spec.key not in _NOT_EXPORTED and profile.fields.get(spec.key, spec.default_name)]


def header(profile: Profile) -> list[str]:
    return [f"{spec.label}（{name}）" for spec, name in _columns(profile)] + [MEASURES_HEADER]


def _body(session: Session, record: BreachRecord, profile: Profile) -> dict[str, Any]:
    body = exchange.record_body(session, record, profile, event=None)  # type: ignore[arg-type]
    body.pop(profile.fields.get("event", ""), None)
    return body


def to_csv(session: Session, records: Sequence[BreachRecord], profile: Profile) -> str:
    rows = []
    for record in records:
        body = _body(session, record, profile)
        rows.append([*(body.get(name) for _spec, name in _columns(profile)), _active_measures(record)])
    return csv_text(header(profile), rows)


def to_json(session: Session, records: Sequence[BreachRecord], profile: Profile) -> str:
    return json.dumps([_body(session, r, profile) for r in records], ensure_ascii=False, indent=1)


def to_xlsx(session: Session, records: Sequence[BreachRecord], profile: Profile, now: datetime | None = None) -> bytes:
    """Two sheets: the records (typed cells: numbers, dates; codes as the platform's, with our label) and every
    measure applied to them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    labels = profiles.our_codes(session)
    wb = Workbook()
    ws = wb.active
    ws.title = "违约失信记录"
    ws.append(header(profile))
    for record in records:
        cells = [_cell(getattr(record, spec.key), spec, profile, labels) for spec, _name in _columns(profile)]
        ws.append([*cells, neutralise(_active_measures(record))])
    measures = wb.create_sheet("惩戒措施")
    specs = {spec.key: spec for spec in profiles.MEASURE_FIELDS}
    columns = ["number", "code", "name", "level", "department_name", "department_uscc", "applied_at",
               "document_number", "until", "ended_at", "end_reason", "end_document_number"]
    measures.append([f"{specs[k].label}（{profile.measure_fields.get(k) or specs[k].default_name}）" for k in columns]
                    + [f"记录编号（{profile.fields.get('number') or 'JLBH'}）"])
    for record in records:
        for m in record.measures:
            department = m.department
            values: dict[str, Any] = {
                "number": m.number, "code": m.measure_type.code, "name": m.measure_type.name,
                "level": m.measure_type.level, "department_name": department.name if department else None,
                "department_uscc": department.uscc if department else None, "applied_at": m.applied_at,
                "document_number": m.document_number, "until": m.until, "ended_at": m.ended_at,
                "end_reason": m.end_reason, "end_document_number": m.end_document_number}
            measures.append([_cell(values[k], specs[k], profile, labels) for k in columns] + [record.number])
    for sheet in (ws, measures):
        _force_text(sheet)
        for cell in sheet[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="B71C1C")
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(sheet.columns, start=1):
            width = max((len(str(c.value)) if c.value is not None else 0) for c in column)
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width * 1.6, 10), 60)
    wb.properties.creator = "履约 · 政府违约失信投诉处置"
    if now is not None:
        wb.properties.created = wb.properties.modified = as_utc(now).replace(tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value: Any, spec: profiles.FieldSpec, profile: Profile, labels: dict[str, dict[str, str]]) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):  # shown in Yunnan time, as officials read times everywhere
        return as_utc(value).astimezone(SHANGHAI).replace(tzinfo=None)
    if isinstance(value, date | int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if spec.codes is not None:  # the platform's code; our label beside it when they differ
        ours = labels.get(spec.codes, {}).get(text, text)
        theirs = profile.codes.get(spec.codes, {}).get(text, text)
        text = ours if theirs == ours else f"{ours}（{theirs}）"
    return neutralise(text)


def _force_text(sheet: Any) -> None:
    """Every string cell is a string (openpyxl would store a value starting with '=' as a formula)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"


def _active_measures(record: BreachRecord) -> str:
    return "；".join(m.measure_type.name for m in record.active_measures)
