"""Destination profiles: how one credit-sharing platform wants a breach record version.

A profile names the platform's field for each of our fields and gives the platform's code for each of our coded
values, per code list (the change — the platform's operation code —, domain, severity, rectification state, record
status, source, measure, measure level). A destination without a stored profile gets the defaults: the field
names of docs/credit.md and, as codes, the Chinese labels; the administrative division is sent as its GB/T 2260
code, the public national standard. An administrator edits a profile in the browser (平台对照,
/credit/exchange-profiles), over the API or from a JSON file at the command line; each save stores the whole profile
as a new revision and is audited.

`render` maps a version's snapshot (engine.credit.exchange.snapshot: our field names and codes) through a profile
and refuses (`Unmappable`, listing every reason) what the platform could not take: a required value missing, a code
without its counterpart in the profile, a malformed 统一社会信用代码 or division code. The exchange holds such a
version with the reason instead of sending it. Event names are one more code list, so a change the lifecycle adds
later (e.g. `withdrawn`, `corrected`) goes out as soon as each profile has a code for it — or waits, held, saying so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.cases.models import DOMAINS
from engine.credit.models import (
    DELIVERY_EVENTS,
    MEASURE_LEVELS,
    PLATFORM_TARGETS,
    RECORD_SOURCES,
    RECORD_STATUSES,
    RECTIFICATION_STATES,
    SEVERITIES,
    ExchangeProfile,
    MeasureType,
)
from engine.errors import FormInvalid, NotFound
from engine.org import permissions
from engine.org.models import Official
from engine.uscc import uscc_problem
from engine.workflow import clock


@dataclass(frozen=True)
class FieldSpec:
    """One field of the record (or of a measure): our key in the snapshot, the default platform name, its label."""

    key: str
    default_name: str
    label: str
    codes: str | None = None  # the code list its values go through
    required: bool = False  # a version without it is held, and a profile may not leave it out
    check: str | None = None  # "uscc" | "division"


RECORD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("schema", "SCHEMA", "数据格式版本"),
    FieldSpec("event", "BGLX", "变更类型（操作代码）", codes="event", required=True),
    FieldSpec("number", "JLBH", "记录编号", required=True),
    FieldSpec("version", "BBH", "记录版本号", required=True),
    FieldSpec("respondent_name", "SXZTMC", "失信主体名称", required=True),
    FieldSpec("respondent_uscc", "SXZTTYSHXYDM", "失信主体统一社会信用代码", required=True, check="uscc"),
    FieldSpec("respondent_division", "SXZTXZQHDM", "失信主体行政区划代码", required=True, check="division"),
    FieldSpec("determining_name", "RDBMMC", "认定部门名称", required=True),
    FieldSpec("determining_uscc", "RDBMTYSHXYDM", "认定部门统一社会信用代码", required=True, check="uscc"),
    FieldSpec("determined_on", "RDRQ", "认定日期", required=True),
    FieldSpec("document_number", "RDWSH", "认定文书号", required=True),
    FieldSpec("basis", "RDYJ", "认定依据"),
    FieldSpec("facts", "SXSS", "失信事实"),
    FieldSpec("domain", "SXLY", "失信领域", codes="domain", required=True),
    FieldSpec("amount", "SXJE", "涉及金额（元）"),
    FieldSpec("rectification_deadline", "ZGQX", "整改期限"),
    FieldSpec("rectification_state", "ZGZT", "整改状态", codes="rectification_state"),
    FieldSpec("severity", "SXCD", "失信程度", codes="severity", required=True),
    FieldSpec("publication_start", "GSQSRQ", "公示起始日期", required=True),
    FieldSpec("publication_end", "GSJZRQ", "公示截止日期"),
    FieldSpec("published_until", "GSZZRQ", "公示提前终止日期（信用修复）"),
    FieldSpec("repaired_on", "XFRQ", "信用修复日期"),
    FieldSpec("repair_document_number", "XFWSH", "信用修复文书号"),
    FieldSpec("status", "JLZT", "记录状态", codes="status", required=True),
    FieldSpec("source", "SJLY", "数据来源", codes="source"),
    FieldSpec("complaint_id", "GLTSBH", "关联投诉编号"),
    FieldSpec("updated_at", "GXSJ", "更新时间"),
    FieldSpec("measures", "CJCS", "惩戒措施（列表）"),
)
MEASURE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("number", "CSBH", "措施编号", required=True),
    FieldSpec("code", "CSDM", "措施代码", codes="measure_code", required=True),
    FieldSpec("name", "CSMC", "措施名称"),
    FieldSpec("level", "CSCJ", "措施层级", codes="measure_level"),
    FieldSpec("department_name", "SSBM", "实施部门", required=True),
    FieldSpec("department_uscc", "SSBMTYSHXYDM", "实施部门统一社会信用代码", required=True, check="uscc"),
    FieldSpec("applied_at", "SSSJ", "实施时间", required=True),
    FieldSpec("document_number", "SSWH", "实施文书号", required=True),
    FieldSpec("until", "JZRQ", "实施截止日期"),
    FieldSpec("ended_at", "JSSJ", "结束时间"),
    FieldSpec("end_reason", "JSYY", "结束原因"),
    FieldSpec("end_document_number", "JSWH", "结束文书号"),
)
CODE_LISTS: dict[str, str] = {
    "event": "变更类型（操作代码）", "domain": "失信领域", "severity": "失信程度", "rectification_state": "整改状态",
    "status": "记录状态", "source": "数据来源", "measure_code": "惩戒措施", "measure_level": "措施层级",
}
LEVELS = {"fields": RECORD_FIELDS, "measure_fields": MEASURE_FIELDS}
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CODE = 100


def our_codes(session: Session) -> dict[str, dict[str, str]]:
    """Every code list: our codes with their Chinese labels (the measure catalogue from the database)."""
    catalogue = {m.code: m.name for m in session.scalars(select(MeasureType).order_by(MeasureType.id))}
    return {"event": dict(DELIVERY_EVENTS), "domain": dict(DOMAINS), "severity": dict(SEVERITIES),
            "rectification_state": dict(RECTIFICATION_STATES), "status": dict(RECORD_STATUSES),
            "source": dict(RECORD_SOURCES), "measure_code": catalogue, "measure_level": dict(MEASURE_LEVELS)}


@dataclass
class Profile:
    """A destination's field names and code lists; `revision` 0 means the defaults (nothing stored)."""

    target: str
    fields: dict[str, str]
    measure_fields: dict[str, str]
    codes: dict[str, dict[str, str]]
    revision: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # our codes the stored profile has no code for

    @property
    def target_label(self) -> str:
        return PLATFORM_TARGETS.get(self.target, self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"fields": dict(self.fields), "measure_fields": dict(self.measure_fields),
                "codes": {name: dict(values) for name, values in self.codes.items()}}


def default_profile(session: Session, target: str) -> Profile:
    """The defaults: our field names (docs/credit.md) and the Chinese label of every code."""
    return Profile(target, {f.key: f.default_name for f in RECORD_FIELDS},
                   {f.key: f.default_name for f in MEASURE_FIELDS}, our_codes(session))


def _known_target(target: str) -> None:
    if target not in PLATFORM_TARGETS:
        raise NotFound(f"没有推送平台「{target}」（可选：{'、'.join(PLATFORM_TARGETS)}）")


def profile_for(session: Session, target: str) -> Profile:
    """The profile `target` is delivered with: the stored one (fields added since get their default name), or the
    defaults."""
    _known_target(target)
    row = session.scalar(select(ExchangeProfile).where(ExchangeProfile.target == target))
    if row is None:
        return default_profile(session, target)
    known = our_codes(session)
    codes = {name: {code: value for code, value in (row.codes or {}).get(name, {}).items()} for name in CODE_LISTS}
    missing = {name: [code for code in known[name] if code not in codes[name]] for name in CODE_LISTS}
    return Profile(target, {f.key: (row.fields or {}).get(f.key, f.default_name) for f in RECORD_FIELDS},
                   {f.key: (row.measure_fields or {}).get(f.key, f.default_name) for f in MEASURE_FIELDS},
                   codes, row.revision, row.updated_by, row.updated_at, {k: v for k, v in missing.items() if v})


# --- editing ----------------------------------------------------------------------------------------------

def save_profile(session: Session, actor: Official | str, target: str, data: dict[str, Any],
                 now: datetime | None = None) -> Profile:
    """Store `target`'s profile: `data` (`fields`, `measure_fields`, `codes`, each optional and partial) over the
    current one. Every problem comes back at once as FormInvalid, keyed `fields.<key>`, `measure_fields.<key>`,
    `codes.<list>.<code>`; nothing is stored then."""
    if not isinstance(actor, str):
        permissions.require(actor, permissions.ADMINISTER_EXCHANGE)
    current = profile_for(session, target)
    merged = current.as_dict()
    known = our_codes(session)
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "平台对照应为 JSON 对象：fields、measure_fields、codes"})
    for part in data:
        if part not in ("fields", "measure_fields", "codes"):
            errors[part] = "未知的部分（可用：fields、measure_fields、codes）"
    for level, specs in LEVELS.items():
        given = data.get(level) or {}
        if not isinstance(given, dict):
            errors[level] = "应为对象：字段键 → 平台字段名"
            continue
        by_key = {f.key: f for f in specs}
        for key, name in given.items():
            spec = by_key.get(key)
            if spec is None:
                errors[f"{level}.{key}"] = f"没有字段「{key}」"
                continue
            name = str(name if name is not None else "").strip()
            if not name and spec.required:
                errors[f"{level}.{key}"] = f"「{spec.label}」是平台必需的字段，请填写字段名"
            elif name and not FIELD_NAME.match(name):
                errors[f"{level}.{key}"] = "字段名以英文字母开头，由字母、数字或下划线组成，不超过 64 位"
            else:
                merged[level][key] = name
        seen: dict[str, str] = {}
        for spec in specs:
            name = merged[level][spec.key]
            if name and name in seen and f"{level}.{spec.key}" not in errors:
                errors[f"{level}.{spec.key}"] = f"字段名「{name}」与「{seen[name]}」重复"
            seen.setdefault(name, spec.label)
    codes = data.get("codes") or {}
    if not isinstance(codes, dict):
        errors["codes"] = "应为对象：代码表 → {我方代码: 平台代码}"
        codes = {}
    for name, values in codes.items():
        if name not in CODE_LISTS:
            errors[f"codes.{name}"] = f"没有代码表「{name}」"
            continue
        if not isinstance(values, dict):
            errors[f"codes.{name}"] = "应为对象：我方代码 → 平台代码"
            continue
        for code, value in values.items():
            where = f"codes.{name}.{code}"
            if code not in known[name]:
                errors[where] = f"{CODE_LISTS[name]}中没有代码「{code}」"
                continue
            value = str(value if value is not None else "").strip()
            if not value:
                errors[where] = f"请填写「{known[name][code]}」在平台的代码"
            elif len(value) > MAX_CODE or CONTROL.search(value):
                errors[where] = f"平台代码不超过 {MAX_CODE} 个字符，不能含控制字符"
            else:
                merged["codes"].setdefault(name, {})[code] = value
    for name, values in merged["codes"].items():
        owner: dict[str, str] = {}
        for code, value in values.items():
            if value in owner and f"codes.{name}.{code}" not in errors:
                errors[f"codes.{name}.{code}"] = (f"与「{known[name].get(owner[value], owner[value])}」的平台代码"
                                                  f"「{value}」相同：一个平台代码只能对应一个值")
            owner.setdefault(value, code)
    if errors:
        raise FormInvalid(errors, "平台对照有误，未保存，请按提示修改。")
    moment = now or clock.now()
    row = session.scalar(select(ExchangeProfile).where(ExchangeProfile.target == target))
    before = current.as_dict() if current.revision else None
    label = actor if isinstance(actor, str) else actor.label
    if row is None:
        row = ExchangeProfile(target=target, revision=0)
        session.add(row)
    row.fields, row.measure_fields, row.codes = merged["fields"], merged["measure_fields"], merged["codes"]
    row.revision = (row.revision or 0) + 1
    row.updated_by, row.updated_at = label, moment
    session.flush()
    audit(session, "exchange_profile_saved", actor, "exchange_profile", target, before=before,
          after={"revision": row.revision, **merged}, now=moment)
    return profile_for(session, target)


def reset_profile(session: Session, actor: Official | str, target: str, now: datetime | None = None) -> Profile:
    """Back to the defaults: the stored profile is removed (audited with what it was)."""
    if not isinstance(actor, str):
        permissions.require(actor, permissions.ADMINISTER_EXCHANGE)
    _known_target(target)
    row = session.scalar(select(ExchangeProfile).where(ExchangeProfile.target == target))
    if row is not None:
        before = {"revision": row.revision, "fields": row.fields, "measure_fields": row.measure_fields,
                  "codes": row.codes}
        session.delete(row)
        session.flush()
        audit(session, "exchange_profile_reset", actor, "exchange_profile", target, before=before,
              after={"revision": 0}, now=now or clock.now())
    return profile_for(session, target)


# --- mapping ----------------------------------------------------------------------------------------------

class Unmappable(Exception):
    """A version the destination could not take as it is; `reasons` are Chinese, one per problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


def render(snapshot: dict[str, Any], profile: Profile, *, strict: bool = True,
           labels: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """The version as `profile`'s destination wants it. `strict`: raise Unmappable with every problem; otherwise
    (exports, previews) an unmapped code is kept as ours and nothing is refused. `labels` (our_codes) name codes in
    the reasons."""
    reasons: list[str] = []
    body: dict[str, Any] = {}
    for spec in RECORD_FIELDS:
        name = profile.fields.get(spec.key, spec.default_name)
        if spec.key == "measures":
            value: Any = [_measure(m, profile, reasons, labels) for m in snapshot.get("measures") or []]
        else:
            value = _value(spec, snapshot.get(spec.key), profile, reasons, "", labels)
        if name:
            body[name] = value
    if strict and reasons:
        raise Unmappable(list(dict.fromkeys(reasons)))
    return body


def _measure(measure: dict[str, Any], profile: Profile, reasons: list[str],
             labels: dict[str, dict[str, str]] | None) -> dict[str, Any]:
    where = f"惩戒措施「{measure.get('name') or measure.get('code')}」的"
    out: dict[str, Any] = {}
    for spec in MEASURE_FIELDS:
        value = _value(spec, measure.get(spec.key), profile, reasons, where, labels)
        name = profile.measure_fields.get(spec.key, spec.default_name)
        if name:
            out[name] = value
    return out


def _value(spec: FieldSpec, value: Any, profile: Profile, reasons: list[str], where: str,
           labels: dict[str, dict[str, str]] | None) -> Any:
    if value is None or value == "":
        if spec.required:
            reasons.append(f"{where}「{spec.label}」为空")
        return None
    if spec.check == "uscc" and (problem := uscc_problem(str(value))):
        reasons.append(f"{where}「{spec.label}」{value} 不是有效的统一社会信用代码（{problem}）")
    if spec.check == "division" and not re.fullmatch(r"\d{6}", str(value)):
        reasons.append(f"{where}「{spec.label}」{value} 不是 6 位行政区划代码（GB/T 2260）")
    if spec.codes is None:
        return value
    mapped = profile.codes.get(spec.codes, {}).get(str(value))
    if mapped is None:
        ours = (labels or {}).get(spec.codes, {}).get(str(value))
        reasons.append(f"{CODE_LISTS[spec.codes]}「{value}」{f'（{ours}）' if ours else ''}在本平台的代码对照中没有对应代码")
        return value
    return mapped
