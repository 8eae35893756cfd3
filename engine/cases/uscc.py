"""统一社会信用代码 (GB 32100-2015) check character."""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]


def uscc_problem(code: str) -> str | None:
    """None when `code` is a valid USCC, else a Chinese message saying what is wrong."""
    if len(code) != 18:
        return "统一社会信用代码应为18位"
    bad = [c for c in code if c not in CHARSET]
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(dict.fromkeys(bad))}"
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
