"""The shared spreadsheet rule: text a spreadsheet would run as a formula is made inert in every export."""
from __future__ import annotations

import csv
import io

from engine.exports import csv_text, neutralise


def test_formula_like_text_gets_an_apostrophe() -> None:
    for dangerous in ("=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx",
                      "=cmd|' /C calc'!A0"):
        assert neutralise(dangerous) == "'" + dangerous
    for harmless in ("云南滇信科技有限公司", "3000000.00", "a=b", "", "<script>alert(1)</script>"):
        assert neutralise(harmless) == harmless
    assert neutralise(42) == 42
    assert neutralise(None) is None


def test_csv_text_neutralises_every_cell_and_keeps_the_rest() -> None:
    text = csv_text(["名称", "=备注"], [["=1+2", None], ["昆明市商务局", 5]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["名称", "'=备注"], ["'=1+2", ""], ["昆明市商务局", "5"]]


def test_bulletin_spreadsheets_use_the_shared_rule() -> None:
    from engine.oversight import xlsx

    assert xlsx.neutralise is neutralise
