"""Spreadsheet-safe cells for every export (CSV and xlsx): formula injection is neutralised in one place.

A text cell starting with = + - @ (or a tab or carriage return), also after leading spaces or line breaks, would be run as a formula by Excel, WPS or
LibreOffice; it gets a leading apostrophe instead, so the spreadsheet shows the text. JSON exports are data for
programs and keep the values unchanged.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LEADING_SPACE = " \t\r\n\x0b\x0c\u3000\u00a0"  # spreadsheets skip these before a formula sign too


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula (also after leading spaces or line breaks), made inert;
    other values unchanged."""
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES)
                                   or value.lstrip(LEADING_SPACE).startswith(FORMULA_PREFIXES)):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a UTF-8 BOM (so Excel reads the Chinese), every cell neutralised, None as an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise("" if v is None else v if isinstance(v, str) else str(v)) for v in row])
    return "\ufeff" + out.getvalue()
