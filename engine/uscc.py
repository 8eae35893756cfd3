"""统一社会信用代码 (GB 32100-2015): registration authority and category codes, division digits, check character."""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]
# GB 32100-2015 table 1: registration authority (1st character) → the organisation categories (2nd) it issues
AUTHORITIES: dict[str, tuple[str, str]] = {
    "1": ("机构编制", "1239"),
    "2": ("外交", "19"),
    "3": ("司法行政", "1234569"),
    "4": ("文化", "19"),
    "5": ("民政", "1239"),
    "6": ("旅游", "129"),
    "7": ("宗教", "129"),
    "8": ("工会", "19"),
    "9": ("市场监督管理（工商）", "123"),
    "A": ("中央军委改革和编制办公室", "19"),
    "N": ("农业", "1239"),
    "Y": ("其他", "1"),
}


def uscc_problem(code: str) -> str | None:
    """None when `code` is a valid USCC, else a Chinese message saying what is wrong."""
    if len(code) != 18:
        return "统一社会信用代码应为18位"
    bad = [c for c in code if c not in CHARSET]
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(dict.fromkeys(bad))}"
    if code.strip("0") == "":
        return "统一社会信用代码不能全为 0，请核对后重新填写"
    if code[0] not in AUTHORITIES:
        return f"统一社会信用代码第 1 位（登记管理部门代码）「{code[0]}」不存在，请核对后重新填写"
    authority, categories = AUTHORITIES[code[0]]
    if code[1] not in categories:
        return (f"统一社会信用代码第 2 位（机构类别代码）「{code[1]}」不是{authority}登记的机构类别"
                f"（可为 {'、'.join(categories)}），请核对后重新填写")
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为登记管理机关的行政区划代码（6 位数字），请核对后重新填写"
    total = sum(CHARSET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True))
    expected = CHARSET[(31 - total % 31) % 31]
    if code[17] != expected:
        return "统一社会信用代码校验位不正确，请核对后重新填写"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def check_character(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are `first17`."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body: str) -> str:
    """The 9-character organisation code (GB 11714, characters 9–17 of a USCC) of an 8-character `body`."""
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))
