"""Template filters: Yunnan local time, status labels."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from engine.cases.models import BREACH_TYPES, CHANNELS, DOMAINS
from engine.cases.status import result_label, status_label

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def file_size(n: int | None) -> str:
    """Bytes as KB/MB for people."""
    n = n or 0
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(round(n / 1024), 1)} KB"


def init_app(app: Flask) -> None:
    from engine import labels

    app.add_template_filter(lambda v, field="status": labels.value_label(field, v), "code_label")
    app.add_template_filter(labels.describe, "describe_values")
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(result_label, "result_label")
    app.add_template_filter(lambda v: DOMAINS.get(v, v), "domain_label")
    app.add_template_filter(lambda v: BREACH_TYPES.get(v, v), "breach_label")
    app.add_template_filter(lambda v: CHANNELS.get(v, v), "channel_label")
    app.add_template_filter(file_size, "file_size")
