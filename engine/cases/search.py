"""Finding cases: the filters of the case list, the inbox and `GET /api/v1/complaints`, parsed in one place and
turned into one SQL query.

Substring search (tracking code, complainant name or USCC, respondent name) uses the database's own text index:
SQLite's FTS5 trigram table `complaint_fts`, PostgreSQL's pg_trgm GIN index (engine/cases/models.py). A trigram
index needs at least three characters; a shorter term is matched with LIKE over the same columns.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    case,
    exists,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, joinedload

from engine.cases.access import case_filter
from engine.cases.models import CHANNELS, SEARCH_FTS_TABLE, Complaint
from engine.cases.status import RESULTS, STATUSES
from engine.db import as_utc
from engine.errors import FormInvalid
from engine.org.demo import PREFECTURES as _PREFECTURES
from engine.org.models import Department, Official
from engine.paging import Total, capped_count
from engine.workflow import clock
from engine.workflow.clock import SHANGHAI
from engine.workflow.models import HumanTask

# Yunnan's 16 prefecture-level divisions: code → name (the respondent's prefecture)
PREFECTURES: dict[str, str] = {code: name for code, (_slug, name) in _PREFECTURES.items()}
SORTS: dict[str, str] = {
    "-received": "收到时间（新→旧）", "received": "收到时间（旧→新）",
    "tracking_code": "受理编号（升序）", "-tracking_code": "受理编号（降序）",
    "complainant": "投诉企业（升序）", "-complainant": "投诉企业（降序）",
    "respondent": "被投诉主体（升序）", "-respondent": "被投诉主体（降序）",
    "status": "办理阶段（先→后）", "-status": "办理阶段（后→先）",
}
DEFAULT_SORT = "-received"
TRIGRAM = 3  # shortest term the trigram index can look up
_MAX_TERM = 100
_fts = Table(SEARCH_FTS_TABLE, MetaData(), Column("rowid", Integer), Column(SEARCH_FTS_TABLE, String))


def _choice(options: Mapping[str, str], what: str) -> validate.OneOf:
    return validate.OneOf(list(options), error=f"{what}不在可选范围内")


def _term(max_len: int, description: str) -> fields.String:
    return fields.String(load_default=None, validate=validate.Length(max=max_len, error=f"最多 {max_len} 个字"),
                         error_messages={"invalid": "应为文本"}, metadata={"description": description})


class CaseSearchInput(Schema):
    """The case filters as query arguments (page and API alike); empty values mean "no filter"."""

    class Meta:
        unknown = EXCLUDE  # paging arguments and stale parameters of a bookmarked address are not filters

    q = _term(_MAX_TERM, "关键词：受理编号、投诉企业名称、统一社会信用代码或被投诉主体名称中包含")
    tracking_code = _term(20, "受理编号（包含，不区分大小写）")
    complainant = _term(200, "投诉企业名称（包含）或统一社会信用代码")
    respondent = _term(200, "被投诉主体名称（包含）")
    supervisor = fields.String(load_default=None, validate=validate.Length(max=64, error="部门编码过长"),
                               metadata={"description": "认定部门（承办部门）的编码，如 km-commerce"})
    prefecture = fields.String(load_default=None, validate=_choice(PREFECTURES, "州（市）"),
                               metadata={"description": "被投诉主体所在州（市）的 6 位行政区划代码，如 530100"})
    status = fields.String(load_default=None, validate=_choice(STATUSES, "案件状态"),
                           metadata={"description": "案件状态：" + "、".join(f"{k}={v}" for k, v in STATUSES.items())})
    result = fields.String(load_default=None, validate=_choice(RESULTS, "办结结果"),
                           metadata={"description": "办结结果：" + "、".join(f"{k}={v}" for k, v in RESULTS.items())})
    channel = fields.String(load_default=None, validate=_choice(CHANNELS, "来源渠道"),
                            metadata={"description": "来源渠道：" + "、".join(f"{k}={v}" for k, v in CHANNELS.items())})
    received_from = fields.Date(load_default=None, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"},
                                metadata={"description": "登记日期起（含，北京时间）"})
    received_to = fields.Date(load_default=None, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"},
                              metadata={"description": "登记日期止（含，北京时间）"})
    overdue = fields.Boolean(load_default=False, truthy={"1", "true", "on", "yes"}, falsy={"0", "false", "off", "no"},
                             error_messages={"invalid": "应为 true 或 false"},
                             metadata={"description": "true：只看有逾期未办任务的案件"})
    sort = fields.String(load_default=DEFAULT_SORT, validate=_choice(SORTS, "排序方式"),
                         metadata={"description": "排序：" + "、".join(f"{k}={v}" for k, v in SORTS.items())})

    @pre_load
    def _drop_empty(self, data: Any, **_kw: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        getter = getattr(data, "get", None)
        cleaned = {}
        for key in data:
            value = getter(key) if getter else data[key]
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            cleaned[key] = value
        return cleaned

    @validates_schema
    def _period(self, data: dict, **_kw: Any) -> None:
        start, end = data.get("received_from"), data.get("received_to")
        for name, day in (("received_from", start), ("received_to", end)):
            if day is not None and not 2000 <= day.year <= 2100:
                raise ValidationError("日期须在 2000 年至 2100 年之间", name)
        if start and end and start > end:
            raise ValidationError("开始日期不能晚于结束日期", "received_to")


@dataclass(frozen=True)
class CaseQuery:
    """Parsed case filters; every field None/False means no narrowing."""

    q: str | None = None
    tracking_code: str | None = None
    complainant: str | None = None
    respondent: str | None = None
    supervisor: str | None = None
    prefecture: str | None = None
    status: str | None = None
    result: str | None = None
    channel: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool = False
    sort: str = DEFAULT_SORT

    @classmethod
    def from_loaded(cls, data: Mapping[str, Any]) -> CaseQuery:
        """From arguments CaseSearchInput loaded already (the API's flask-smorest arguments)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if data.get(name) is not None})

    def args(self, **extra: Any) -> dict[str, str]:
        """The filters as query arguments for links (paging, sorting): only those that are set."""
        found: dict[str, str] = {}
        for name, value in {**asdict(self), **extra}.items():
            if value in (None, "", False) or (name == "sort" and value == DEFAULT_SORT):
                continue
            found[name] = "1" if value is True else value.isoformat() if isinstance(value, date) else str(value)
        return found

    @property
    def narrows_cases(self) -> bool:
        """Whether any filter (not the order) is set."""
        return any(value not in (None, False) for name, value in asdict(self).items() if name != "sort")

    @property
    def has_field_filters(self) -> bool:
        """Whether a filter other than the keyword is set (the page then shows the filter fields unfolded)."""
        return any(value not in (None, False) for name, value in asdict(self).items() if name not in ("sort", "q"))


def parse_case_query(raw: Mapping[str, Any]) -> CaseQuery:
    """The filters from query arguments; FormInvalid (422) with a Chinese message per field when one is wrong."""
    try:
        return CaseQuery.from_loaded(CaseSearchInput().load(raw))
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
        raise FormInvalid({k: (v[0] if isinstance(v, list) and v else str(v)) for k, v in messages.items()},
                          "筛选条件有误，请按提示修改。") from exc


@dataclass(frozen=True)
class CaseSearch:
    """One search: the filters as understood, the page of cases, and how many match in all."""

    query: CaseQuery
    rows: list[Complaint]
    total: Total  # exact up to offset + 1000, else that bound (engine/paging.py)


def find_cases(session: Session, official: Official, args: Mapping[str, Any] | CaseQuery, limit: int | None = 50,
               offset: int = 0, now: datetime | None = None) -> CaseSearch:
    """The case list of the page and of `GET /api/v1/complaints`: parse `args` (query arguments, or a CaseQuery
    already parsed), then search. FormInvalid (422, Chinese, per field) for a bad filter."""
    query = args if isinstance(args, CaseQuery) else parse_case_query(args)
    rows, total = search_cases(session, official, query, limit, offset, now)
    return CaseSearch(query, rows, total)


def search_cases(session: Session, official: Official, query: CaseQuery, limit: int | None = 50, offset: int = 0,
                 now: datetime | None = None) -> tuple[list[Complaint], Total]:
    """Cases `official` may see (`view_case`, in SQL) that match `query`, in its order; and how many match
    (counted up to offset + 1000: the DRC sees every case, and counting them all cost more than the page)."""
    stmt = select(Complaint).options(joinedload(Complaint.respondent), joinedload(Complaint.supervisor))  # listed
    clause = case_filter(official)
    if clause is not None:
        stmt = stmt.where(clause)
    stmt = stmt.where(*case_conditions(session, query, now))
    total = capped_count(session, stmt, offset)
    stmt = stmt.order_by(*case_order(query.sort)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt)), total


def case_conditions(session: Session, query: CaseQuery, now: datetime | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions on Complaint for `query`'s filters (also used by the inbox on its tasks' cases).

    An unknown determining-department code is a FormInvalid: a typo should not look like "no such cases".
    """
    dialect = session.get_bind().dialect.name
    found: list[ColumnElement[bool]] = []
    if query.q:
        found.append(contains(dialect, ("tracking_code", "complainant_name", "complainant_uscc", "respondent_name"),
                              query.q))
    if query.tracking_code:
        found.append(contains(dialect, ("tracking_code",), query.tracking_code))
    if query.complainant:
        found.append(or_(Complaint.complainant_uscc == query.complainant.upper(),
                         contains(dialect, ("complainant_name",), query.complainant)))
    if query.respondent:
        found.append(contains(dialect, ("respondent_name",), query.respondent))
    if query.supervisor:
        supervisor_id = session.scalar(select(Department.id).where(Department.code == query.supervisor))
        if supervisor_id is None:
            raise FormInvalid({"supervisor": "组织数据中没有该认定部门"}, "筛选条件有误，请按提示修改。")
        found.append(Complaint.supervisor_id == supervisor_id)
    if query.prefecture:
        found.append(Complaint.respondent.has(Department.prefecture_code == query.prefecture))
    if query.status:
        found.append(Complaint.status == query.status)
    if query.result:
        found.append(Complaint.result == query.result)
    if query.channel:
        found.append(Complaint.channel == query.channel)
    if query.received_from:
        found.append(Complaint.received_at >= _start_of(query.received_from))
    if query.received_to:
        found.append(Complaint.received_at < _start_of(query.received_to + timedelta(days=1)))
    if query.overdue:
        moment = as_utc(now) or clock.now()
        found.append(exists().where(HumanTask.subject_id == Complaint.id, HumanTask.completed_at.is_(None),
                                    HumanTask.due_at < moment))
    return found


def case_order(sort: str) -> tuple[Any, ...]:
    """ORDER BY for one of SORTS; the id breaks ties so pages never overlap."""
    stage = case({code: position for position, code in enumerate(STATUSES)}, value=Complaint.status,
                 else_=len(STATUSES))
    columns = {"received": Complaint.received_at, "tracking_code": Complaint.tracking_code,
               "complainant": Complaint.complainant_name, "respondent": Complaint.respondent_name, "status": stage}
    descending = sort.startswith("-")
    column = columns.get(sort.lstrip("-"), Complaint.received_at)
    return (column.desc(), Complaint.id.desc()) if descending else (column.asc(), Complaint.id.asc())


def contains(dialect: str, columns: tuple[str, ...], term: str) -> ColumnElement[bool]:
    """Any of `columns` of Complaint contains `term` (ASCII letters in any case), through the text index."""
    term = term.strip()
    if not term:
        return true()
    if dialect == "sqlite" and len(term) >= TRIGRAM:
        phrase = '"' + term.replace('"', '""') + '"'  # one FTS5 string: the term as it stands, no query syntax
        match = "{" + " ".join(columns) + "} : " + phrase
        return Complaint.id.in_(select(_fts.c.rowid).where(_fts.c[SEARCH_FTS_TABLE].op("MATCH")(match)))
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql":  # ILIKE: served by the pg_trgm GIN index from three characters on
        return or_(*(getattr(Complaint, name).ilike(pattern, escape="\\") for name in columns))
    # SQLite with fewer than three characters (no trigram to look up): LIKE, which ignores ASCII case there
    return or_(*(getattr(Complaint, name).like(pattern, escape="\\") for name in columns))


def _start_of(day: date) -> datetime:
    """Midnight of `day` in Yunnan, as aware UTC."""
    return datetime.combine(day, time(0, 0), SHANGHAI).astimezone(UTC)
