"""The personal-data check of published text: phone, ID and e-mail patterns and the complainant's names,
address, phone and code — refused in a typical case's public text, masked in its first draft."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.credit.models import BreachRecord

_SEP = r"[\s\-－—.·]?"  # what people put between digit groups: 138 8800 1234, 0871-6123456
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("手机号码", re.compile(r"(?<![0-9])(?:\+?86" + _SEP + r")?1[3-9](?:" + _SEP + r"[0-9]){9}(?![0-9])")),
    ("固定电话号码", re.compile(r"(?<![0-9])0[0-9]{2,3}" + _SEP + r"[2-9](?:" + _SEP + r"[0-9]){6,7}(?![0-9])")),
    ("身份证号码", re.compile(
        r"(?<![0-9A-Za-z])[1-9][0-9]{5}" + _SEP + r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        + _SEP + r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])")),
    ("电子邮箱", re.compile(r"[A-Za-z0-9._%+\-]+\s*[@＠]\s*[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")),
]
_DIGIT_GAPS = re.compile(r"(?<=[0-9])[\s\-－—.·()（）]+(?=[0-9])")
# 企业名称 = 行政区划 + 字号 + 行业 + 组织形式: the 字号 alone identifies the complainant, so it is checked too
_REGIONS = ("云南省", "云南", "昆明", "曲靖", "玉溪", "保山", "昭通", "丽江", "普洱", "临沧", "楚雄", "红河", "文山",
            "西双版纳", "大理", "德宏", "怒江", "迪庆")
_REGION_SUFFIX = re.compile(r"^(?:市|州|彝族自治州|哈尼族彝族自治州|壮族苗族自治州|傣族自治州|白族自治州|傣族景颇族自治州|傈僳族自治州|藏族自治州)")
_OTHER_REGION = re.compile(r"^[\u4e00-\u9fa5]{2,3}(?:省|市)")
_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "合伙企业", "集团", "公司", "商行", "厂", "店")
_TRADES = ("信息技术", "房地产开发", "新材料", "科技", "技术", "贸易", "商贸", "建设", "建筑", "工程", "实业", "投资",
           "发展", "农业", "开发", "置业", "环保", "能源", "物流", "医药", "生物", "食品", "电子", "网络", "文化",
           "传媒", "旅游", "咨询", "服务", "管理", "机械", "设备", "材料", "化工", "矿业", "电力", "交通", "水务",
           "园林", "绿化", "装饰", "教育", "产业", "控股")
MASK = "＊＊＊"


@dataclass(frozen=True)
class Finding:
    kind: str  # e.g. 手机号码, 投诉企业名称
    text: str  # what was found, as written


def personal_terms(session: Session, record: BreachRecord) -> list[tuple[str, str, str]]:
    """(term, kind, replacement) for the complainants of the record's complaint and of complaints merged into it."""
    return personal_terms_of(session, [record]).get(record.id, [])


def personal_terms_of(session: Session, records: list[BreachRecord]) -> dict[int, list[tuple[str, str, str]]]:
    """`personal_terms` for many records in two queries (public lists)."""
    from engine.intake.models import ComplaintReference

    by_complaint = {r.complaint_id: r.id for r in records if r.complaint_id is not None}
    if not by_complaint:
        return {}
    owners: dict[int, int] = dict(by_complaint)  # complaint id → record id, merged complaints included
    for survivor, merged in session.execute(select(ComplaintReference.complaint_id, ComplaintReference.merged_from_id)
                                            .where(ComplaintReference.complaint_id.in_(by_complaint))):
        owners.setdefault(merged, by_complaint[survivor])
    terms: dict[int, list[tuple[str, str, str]]] = {}
    for complaint in session.scalars(select(Complaint).where(Complaint.id.in_(owners))):
        name = (complaint.complainant_name or "").strip()
        terms.setdefault(owners[complaint.id], []).extend([
            (name, "投诉企业名称", "某企业"), (_trade_name(name), "投诉企业字号", "某企业"),
            ((complaint.contact_person or "").strip(), "投诉人联系人姓名", "某某"),
            ((complaint.legal_representative or "").strip(), "投诉企业法定代表人姓名", "某某"),
            ((complaint.contact_address or "").strip(), "投诉人地址", "某地"),
            (_digits(complaint.contact_phone), "投诉人联系电话", MASK),
            ((complaint.complainant_uscc or "").strip(), "投诉企业统一社会信用代码", MASK)])
    return {record_id: _distinct(found) for record_id, found in terms.items()}


def _distinct(terms: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    seen, result = set(), []
    for term, kind, replacement in sorted(terms, key=lambda t: -len(t[0])):  # longest first
        if len(term) >= 2 and term not in seen:
            seen.add(term)
            result.append((term, kind, replacement))
    return result


def find_personal_data(text: str, terms: list[tuple[str, str, str]], public_codes: tuple[str, ...] = ()
                       ) -> list[Finding]:
    """Phone, ID and email patterns and the complainant's names, address, phone and code found in `text`."""
    found: list[Finding] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text or ""):
            if match.group(0).strip() not in public_codes:
                found.append(Finding(kind, match.group(0).strip()))
    joined = _DIGIT_GAPS.sub("", text or "")  # "138 8800 1234" is the phone number 13888001234
    for term, kind, _replacement in terms:
        haystack = joined if term.isdigit() else text or ""
        if term in haystack and not any(term in (f.text, _digits(f.text)) for f in found):
            found.append(Finding(kind, term))
    return found


def check_public_text(session: Session, record: BreachRecord, title: str, text: str) -> dict[str, str]:
    """Chinese form errors (field → message) for a title and text that still contain personal data."""
    terms = personal_terms(session, record)
    codes = tuple(c for c in (record.respondent_uscc, record.determining_uscc) if c)
    errors: dict[str, str] = {}
    for field_name, value, label in (("title", title, "标题"), ("public_text", text, "公开文本")):
        findings = find_personal_data(value, terms, codes)
        if findings:
            listed = "；".join(f"{f.kind}「{f.text}」" for f in findings[:6])
            more = f" 等 {len(findings)} 处" if len(findings) > 6 else ""
            errors[field_name] = f"{label}中仍含有个人信息，请删除或改写后再提交：{listed}{more}"
    if not (title or "").strip():
        errors.setdefault("title", "请填写公开标题")
    if not (text or "").strip():
        errors.setdefault("public_text", "请填写公开文本")
    return errors


def mask(text: str, terms: list[tuple[str, str, str]]) -> str:
    """`text` with the complainant's names etc. replaced and phone, ID and email patterns masked."""
    for term, _kind, replacement in terms:
        if not term.isdigit():
            text = text.replace(term, replacement)
    for _kind, pattern in PATTERNS:
        text = pattern.sub(MASK, text)
    for term, _kind, replacement in terms:
        if term.isdigit() and term in text:
            text = text.replace(term, replacement)
    return text


def _digits(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def _trade_name(name: str) -> str:
    """The 字号 of an enterprise name (region, trade and legal form stripped), or '' when too short to check."""
    core = re.sub(r"[（(][^）)]*[）)]", "", name or "").strip()
    for region in _REGIONS:
        if core.startswith(region):
            core = _REGION_SUFFIX.sub("", core[len(region):])
            break
    else:
        core = _OTHER_REGION.sub("", core)
    changed = True
    while changed:
        changed = False
        for suffix in (*_FORMS, *_TRADES):
            if core.endswith(suffix) and len(core) > len(suffix):
                core, changed = core[: -len(suffix)], True
    return core if 2 <= len(core) < len(name or "") else ""
