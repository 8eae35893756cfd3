"""Demo organisation data: a believable slice of Yunnan's government for `make run` and the tests."""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.org.models import Department, Official
from engine.org.services import hash_password
from engine.uscc import check_character, organisation_code

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "Lvyue@2026"

PREFECTURES = {
    "530100": ("km", "昆明市"), "530300": ("qj", "曲靖市"), "530400": ("yx", "玉溪市"), "530500": ("bs", "保山市"),
    "530600": ("zt", "昭通市"), "530700": ("lj", "丽江市"), "530800": ("pe", "普洱市"), "530900": ("lc", "临沧市"),
    "532300": ("cx", "楚雄彝族自治州"), "532500": ("hh", "红河哈尼族彝族自治州"), "532600": ("ws", "文山壮族苗族自治州"),
    "532800": ("xsbn", "西双版纳傣族自治州"), "532900": ("dl", "大理白族自治州"), "533100": ("dh", "德宏傣族景颇族自治州"),
    "533300": ("nj", "怒江傈僳族自治州"), "533400": ("dq", "迪庆藏族自治州"),
}

# code, name, level, division, prefecture, superior code, credit lead
DEPARTMENTS: list[tuple[str, str, str, str, str | None, str | None, bool]] = [
    ("ndrc", "云南省发展和改革委员会（信用处）", "province", "530000", None, None, True),
    ("yn-gov", "云南省人民政府", "province", "530000", None, None, False),
    ("yn-commerce", "云南省商务厅", "province", "530000", None, "yn-gov", False),
    ("yn-finance", "云南省财政厅", "province", "530000", None, "yn-gov", False),
    ("yn-industry", "云南省工业和信息化厅", "province", "530000", None, "yn-gov", False),
    ("yn-housing", "云南省住房和城乡建设厅", "province", "530000", None, "yn-gov", False),
    ("yn-transport", "云南省交通运输厅", "province", "530000", None, "yn-gov", False),
    ("yn-agri", "云南省农业农村厅", "province", "530000", None, "yn-gov", False),
    ("yn-govservice", "云南省政务服务管理局", "province", "530000", None, "yn-gov", False),
    ("yn-university-hospital", "云南省第一人民医院", "province", "530000", None, None, False),
]
for _div, (_slug, _name) in PREFECTURES.items():
    DEPARTMENTS.append((f"{_slug}-gov", f"{_name}人民政府", "prefecture", _div, _div, "yn-gov", False))
    DEPARTMENTS.append((f"{_slug}-drc", f"{_name}发展和改革委员会", "prefecture", _div, _div, f"{_slug}-gov", True))
DEPARTMENTS += [
    ("km-commerce", "昆明市商务局", "prefecture", "530100", "530100", "km-gov", False),
    ("km-finance", "昆明市财政局", "prefecture", "530100", "530100", "km-gov", False),
    ("km-industry", "昆明市工业和信息化局", "prefecture", "530100", "530100", "km-gov", False),
    ("km-investment", "昆明市投资促进局", "prefecture", "530100", "530100", "km-gov", False),
    ("km-guandu-gov", "昆明市官渡区人民政府", "county", "530111", "530100", "km-gov", False),
    ("km-guandu-commerce", "昆明市官渡区商务局", "county", "530111", "530100", "km-commerce", False),
    ("km-chenggong-housing", "昆明市呈贡区住房和城乡建设局", "county", "530114", "530100", "km-gov", False),
    ("qj-commerce", "曲靖市商务局", "prefecture", "530300", "530300", "qj-gov", False),
    ("qj-qilin-commerce", "曲靖市麒麟区商务局", "county", "530302", "530300", "qj-commerce", False),
    ("hh-industry", "红河州工业和信息化局", "prefecture", "532500", "532500", "hh-gov", False),
    ("hh-mengzi-industry", "蒙自市工业和信息化局", "county", "532503", "532500", "hh-industry", False),
    ("dl-investment", "大理州投资促进局", "prefecture", "532900", "532900", "dl-gov", False),
    ("dl-binchuan-agri", "宾川县农业农村局", "county", "532924", "532900", "dl-gov", False),
    ("yx-hongta-park", "玉溪高新技术产业开发区管理委员会", "county", "530402", "530400", None, False),
]

# 事业单位 among the demo departments (their codes begin with 12); every other one is a 机关 (11)
PUBLIC_INSTITUTIONS = {"yn-university-hospital"}


def demo_uscc(code: str, division: str) -> str:
    """A made-up but well-formed 统一社会信用代码 for the demo department `code` (GB 32100: registration
    authority 1 = 机构编制, category 1 机关 or 2 事业单位, the division's code, a GB 11714 organisation code with
    its own check digit, the check character); the same code every time."""
    digits = int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10**7
    first17 = ("12" if code in PUBLIC_INSTITUTIONS else "11") + division + organisation_code(f"0{digits:07d}")
    return first17 + check_character(first17)


DEMO_USCC = {code: demo_uscc(code, division) for code, _n, _l, division, *_rest in DEPARTMENTS}
assert len(set(DEMO_USCC.values())) == len(DEMO_USCC), "demo codes must differ"

# username, full name, department code, roles
OFFICIALS: list[tuple[str, str, str, list[str]]] = [
    ("intake", "张受理", "ndrc", ["intake"]),
    ("ndrc", "王鹏", "ndrc", ["ndrc"]),
    ("ndrc2", "李芳", "ndrc", ["ndrc", "leader"]),
    ("procadmin", "赵流程", "ndrc", ["process_admin"]),
    ("sysadmin", "钱系统", "ndrc", ["sysadmin"]),
    ("km-commerce", "孙商务", "km-commerce", ["official"]),
    ("km-commerce-lead", "周局长", "km-commerce", ["official", "leader"]),
    ("guandu-commerce", "吴官渡", "km-guandu-commerce", ["official"]),
    ("km-drc", "郑信用", "km-drc", ["prefecture_lead"]),
    ("km-gov", "冯市府", "km-gov", ["official"]),
    ("km-finance", "陈财政", "km-finance", ["official"]),
    ("yn-commerce", "褚商务厅", "yn-commerce", ["official"]),
    ("yn-gov", "卫省府", "yn-gov", ["official"]),
    ("qj-commerce", "蒋曲靖", "qj-commerce", ["official"]),
    ("qilin-commerce", "沈麒麟", "qj-qilin-commerce", ["official"]),
    ("qj-drc", "韩曲靖信用", "qj-drc", ["prefecture_lead"]),
    ("hh-industry", "杨红河", "hh-industry", ["official"]),
    ("mengzi-industry", "朱蒙自", "hh-mengzi-industry", ["official"]),
    ("hh-drc", "秦红河信用", "hh-drc", ["prefecture_lead"]),
    ("dl-drc", "尤大理信用", "dl-drc", ["prefecture_lead"]),
    ("dl-gov", "许大理州府", "dl-gov", ["official"]),
    ("binchuan-agri", "何宾川", "dl-binchuan-agri", ["official"]),
    ("yx-park", "吕玉溪园区", "yx-hongta-park", ["official"]),
]


def load_demo_organisation(session: Session, password: str = DEMO_PASSWORD) -> int:
    """Insert the demo departments and officials that are missing; returns how many rows were added.

    A demo department loaded before the codes existed gets its 统一社会信用代码 now (unless another department
    holds that code)."""
    by_code = {d.code: d for d in session.scalars(select(Department))}
    taken = {d.uscc for d in by_code.values() if d.uscc}
    added = 0
    for code, name, level, division, prefecture, superior, lead in DEPARTMENTS:
        if code in by_code:
            known = by_code[code]
            if known.uscc is None and DEMO_USCC[code] not in taken:
                known.uscc = DEMO_USCC[code]
                taken.add(known.uscc)
            continue
        dept = Department(code=code, name=name, level=level, division_code=division, prefecture_code=prefecture,
                          uscc=DEMO_USCC[code] if DEMO_USCC[code] not in taken else None,
                          is_credit_lead=lead, superior=by_code.get(superior) if superior else None)
        session.add(dept)
        by_code[code] = dept
        added += 1
    session.flush()
    existing = set(session.scalars(select(Official.username)))
    pw_hash = hash_password(password)
    for username, full_name, dept_code, roles in OFFICIALS:
        if username in existing:
            continue
        session.add(Official(username=username, full_name=full_name, department=by_code[dept_code],
                             roles=roles, password_hash=pw_hash, email=f"{username}@lvyue.example"))
        added += 1
    session.flush()
    logger.info("demo organisation: %s rows added", added)
    return added
