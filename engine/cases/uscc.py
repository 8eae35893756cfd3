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
