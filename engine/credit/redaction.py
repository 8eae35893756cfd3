"""The personal-data check of published text: phone, ID and e-mail patterns and the complainant's names,
address, phone and code — refused in a typical case's public text, masked in its first draft."""
from __future__ import annotations

import re
import unicodedata
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
            *((part, "投诉人地址", "某地") for part in _address_parts(complaint.contact_address)),
            (_digits(complaint.contact_phone), "投诉人联系电话", MASK),
            ((complaint.complainant_uscc or "").strip(), "投诉企业统一社会信用代码", MASK)])
    return {record_id: _distinct(found) for record_id, found in terms.items()}


def _distinct(terms: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    seen, result = set(), []
    for term, kind, replacement in sorted(terms, key=lambda t: -len(t[0])):  # longest first
        key = _normalise(term, compact=True)[0]
        if len(key) >= 2 and key not in seen:
            seen.add(key)
            result.append((term, kind, replacement))
    return result


# --- normalising before the check: what is written differently but reads the same is the same ----------------

_CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
              "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_SECTIONS = {"万": 10_000, "亿": 100_000_000}
_CN_NUMERAL = set(_CN_DIGITS) | set(_CN_UNITS) | set(_CN_SECTIONS)
_JOINERS = set("·・‧•_*-—–")  # put inside a name or a code to break it up: 李·明, 9144-0101…
_GAPS_IN_DIGITS = re.compile(r"(?<=[0-9])[()]+(?=[0-9])")


def _chinese_number(run: str) -> str:
    """A run of Chinese numerals as ASCII digits: read digit by digit (一三八… → 138…) unless it has units
    (一百零三 → 103); '' when it is no number (a unit on its own, 千万)."""
    if not any(ch in _CN_DIGITS for ch in run) and run[0] not in ("十", "拾"):
        return ""
    if not any(ch in _CN_UNITS or ch in _CN_SECTIONS for ch in run):
        return "".join(str(_CN_DIGITS[ch]) for ch in run)
    total = section = number = 0
    for ch in run:
        if ch in _CN_DIGITS:
            number = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (number or 1) * _CN_UNITS[ch]
            number = 0
        else:
            total += (section + number) * _CN_SECTIONS[ch]
            section = number = 0
    return str(total + section + number)


def _normalise(text: str, compact: bool) -> tuple[str, list[tuple[int, int]]]:
    """`text` as the check reads it, with the span of the original that each character comes from.

    NFKC (full-width letters, digits and signs become plain ones), digits of any script and Chinese numerals
    become ASCII digits, invisible characters (zero-width spaces, combining marks) go; runs of white space
    become one space. `compact` (for comparing with the complainant's data) also drops all white space and
    the joiners people put inside a name or code, and folds case: 李 明, 9144 0101 ma5c… read as 李明, 91440101MA5C….
    """
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _CN_NUMERAL:
            j = i
            while j < n and text[j] in _CN_NUMERAL:
                j += 1
            digits = _chinese_number(text[i:j])
            if digits:
                chars.extend(digits)
                spans.extend([(i, j)] * len(digits))
                i = j
                continue
        for ch in unicodedata.normalize("NFKC", text[i]):
            if unicodedata.category(ch) in ("Cf", "Mn", "Me"):
                continue
            digit = unicodedata.decimal(ch, None)
            if digit is not None:
                ch = str(digit)
            elif ch.isspace():
                if compact or (chars and chars[-1] == " "):
                    continue
                ch = " "
            elif compact and ch in _JOINERS:
                continue
            for folded in ch.casefold() if compact else ch:
                chars.append(folded)
                spans.append((i, i + 1))
        i += 1
    normal = "".join(chars)
    if compact:  # 0871(63123456) is the number 087163123456
        gaps = {k for match in _GAPS_IN_DIGITS.finditer(normal) for k in range(match.start(), match.end())}
        kept = [k for k in range(len(normal)) if k not in gaps]
        normal, spans = "".join(normal[k] for k in kept), [spans[k] for k in kept]
    return normal, spans


def _scan(text: str, terms: list[tuple[str, str, str]], public_codes: tuple[str, ...] = ()
          ) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, replacement) in `text` of every phone, ID and e-mail pattern and every occurrence of
    the complainant's data, however written; patterns first, then terms longest first, none overlapping."""
    text = text or ""
    found: list[tuple[int, int, str, str]] = []

    def add(spans: list[tuple[int, int]], start: int, end: int, kind: str, replacement: str) -> None:
        begin, finish = spans[start][0], spans[end - 1][1]
        if not any(begin < e and s < finish for s, e, _k, _r in found):
            found.append((begin, finish, kind, replacement))

    plain, plain_spans = _normalise(text, compact=False)
    public = {_normalise(code, compact=True)[0] for code in public_codes}
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(plain):
            if _normalise(match.group(0), compact=True)[0] not in public:
                add(plain_spans, match.start(), match.end(), kind, MASK)
    compact, compact_spans = _normalise(text, compact=True)
    for term, kind, replacement in terms:
        needle = _normalise(term, compact=True)[0]
        start = compact.find(needle) if needle else -1
        while start >= 0:
            add(compact_spans, start, start + len(needle), kind, replacement)
            start = compact.find(needle, start + len(needle))
    return sorted(found)


def find_personal_data(text: str, terms: list[tuple[str, str, str]], public_codes: tuple[str, ...] = ()
                       ) -> list[Finding]:
    """Phone, ID and email patterns and the complainant's names, address, phone and code found in `text`, each
    as written there — also when written in full-width or Chinese digits, with spaces inside, or in lower case."""
    findings: list[Finding] = []
    for start, end, kind, _replacement in sorted(_scan(text, terms, public_codes), key=lambda f: _order(f, terms)):
        finding = Finding(kind, text[start:end].strip())
        if finding not in findings:
            findings.append(finding)
    return findings


def _order(found: tuple[int, int, str, str], terms: list[tuple[str, str, str]]) -> tuple[int, int]:
    """Patterns first (in PATTERNS order), then the complainant's data in the order of `terms`, then position."""
    kinds = [kind for kind, _pattern in PATTERNS] + [kind for _term, kind, _replacement in terms]
    return kinds.index(found[2]), found[0]


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
    """`text` with the complainant's names etc. replaced and phone, ID and email patterns masked — every spelling
    the check would find."""
    text = text or ""
    for start, end, _kind, replacement in reversed(_scan(text, terms)):
        text = text[:start] + replacement + text[end:]
    return text


def _digits(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


_ADMIN_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,8}?(?:省|自治区))?(?:[\u4e00-\u9fff]{1,12}?(?:市|州|地区))?"
                           r"(?:[\u4e00-\u9fff]{1,8}?(?:区|县|市|旗))?")
_STREET_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}?(?:大道|大街|路|街|巷|弄|胡同|道|里|村|组|社区)"
                            r"(?:[0-9]+|[零〇一二三四五六七八九十百千]+)(?:号院|号|弄|栋|幢)")


def _address_parts(address: str) -> list[str]:
    """The complainant's address and the parts of it that still point at the place on their own: the address
    without province, prefecture and county (春城路100号1栋), and each street with its number (春城路100号)."""
    address = re.sub(r"\s+", "", unicodedata.normalize("NFKC", address or ""))  # the check normalises the rest
    if not address:
        return []
    tail = address[_ADMIN_PREFIX.match(address).end():]  # type: ignore[union-attr]  (the pattern always matches)
    parts = [address] + ([tail] if len(tail) >= 4 and any(ch.isdigit() or ch in _CN_DIGITS for ch in tail) else [])
    return parts + [match.group(0) for match in _STREET_NUMBER.finditer(tail)]


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
