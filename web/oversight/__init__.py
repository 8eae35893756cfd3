"""统计调度 pages: the dashboard (tables here, charts drawn by static/js/oversight.js from the JSON API) and
the list of cases behind each number. Who may see what is decided by engine.oversight.scope."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from engine.cases.models import CHANNELS, DOMAINS
from engine.credit.models import DELIVERY_EVENTS
from engine.org.permissions import SEE_STATISTICS
from engine.org.services import department_codes
from engine.oversight import drill
from engine.oversight.periods import Period
from engine.oversight.scope import GROUP_LABELS, PREFECTURES, may_see_dashboard, resolve_scope, sees_province
from engine.oversight.statistics import OVERDUE_BUCKETS, REQUIRED_RECORD_FIELDS, figures, ranking
from web.api.oversight import LABELS, FiguresQuery, period_of
from web.extensions import db
from web.permissions import protect

bp = Blueprint("oversight", __name__, url_prefix="/oversight")
protect(bp, SEE_STATISTICS)  # the scope (all of Yunnan or one prefecture): engine.oversight.scope
PAGE_SIZE = 50
FILTERS = ("start", "end", "prefecture", "department", "channel", "domain")
RANK_LIMIT = 20


def _args() -> dict[str, Any]:
    raw = {k: v for k, v in request.args.items() if k in FILTERS and v}
    try:
        return FiguresQuery().load(raw)
    except ValidationError as exc:
        abort(422, description="；".join(str(v) for v in exc.messages.values()))


@bp.get("/")
def index() -> str:
    """The dashboard for the caller's scope: every table's numbers link to their cases."""
    args = _args()
    scope = resolve_scope(db.session, current_user, args["prefecture"], args["department"])
    period = period_of(args)
    result, by_prefecture, by_department = _cached((scope, period, args["channel"], args["domain"]), lambda: (
        figures(db.session, period, scope, channel=args["channel"], domain=args["domain"]),
        ranking(db.session, period, "prefecture", scope, channel=args["channel"], domain=args["domain"]),
        ranking(db.session, period, "department", scope, channel=args["channel"], domain=args["domain"])))
    query = {"start": period.start.isoformat(), "end": period.end.isoformat(),
             **{k: args[k] for k in ("prefecture", "department", "channel", "domain") if args[k]}}
    shown = by_department[:RANK_LIMIT]
    codes = {str(i): code for i, code in department_codes(db.session, (int(r.key) for r in shown)).items()}
    charts = {"figures": {**result.as_dict(), "labels": LABELS}, "ranking": {"rows": [r.as_dict() for r in by_prefecture]}}
    return render_template(
        "oversight/index.html", f=result, period=period, scope=scope, query=query, cases_url=_cases_url(query),
        chart_data=json.dumps(charts, ensure_ascii=False, default=str), department_codes=codes,
        month_bounds=_month_bounds(period),
        by_prefecture=by_prefecture, departments=shown, department_total=len(by_department),
        channels=CHANNELS, domains=DOMAINS, groups=GROUP_LABELS, prefectures=PREFECTURES,
        buckets=OVERDUE_BUCKETS, required_fields=REQUIRED_RECORD_FIELDS, all_prefectures=sees_province(current_user),
    )


@bp.get("/cases")
def cases() -> str:
    """The cases counted in one number of the dashboard (same filters, same definitions); for a number of
    measures, those measures."""
    args = _args()
    figure = request.args.get("figure", "")
    if figure not in drill.FIGURES:
        abort(404)
    scope = resolve_scope(db.session, current_user, args["prefecture"], args["department"])
    period = period_of(args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = drill.figure_rows(db.session, figure, period, scope, channel=args["channel"], domain=args["domain"],
                              limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    total = found.total
    query = {"start": period.start.isoformat(), "end": period.end.isoformat(),
             **{k: args[k] for k in ("prefecture", "department", "channel", "domain") if args[k]}}
    return render_template("oversight/cases.html", kind=found.kind, rows=found.rows, total=total, figure=figure,
                           figure_label=drill.FIGURES[figure], period=period, scope=scope, query=query, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), channels=CHANNELS, domains=DOMAINS,
                           delivery_events=DELIVERY_EVENTS)


_CACHE: dict[tuple, tuple[float, Any]] = {}
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 64


def _cached(key: tuple, compute: Callable[[], Any]) -> Any:
    """The page's figures for `key`, recomputed after OVERSIGHT_CACHE_SECONDS (default 300; 0 while testing):
    on a million cases they take seconds, and officials open the dashboard again and again. The page shows the
    moment they were computed; the cases behind a number are always listed live."""
    seconds = current_app.config.get("OVERSIGHT_CACHE_SECONDS", 0 if current_app.testing else 300)
    if not seconds:
        return compute()
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    value = compute()
    with _CACHE_LOCK:
        if len(_CACHE) >= CACHE_ENTRIES:
            _CACHE.pop(min(_CACHE, key=lambda k: _CACHE[k][0]))
        _CACHE[key] = (now, value)
    return value


def _month_bounds(period: Period) -> dict[str, tuple[str, str]]:
    """Each month of the period as (first, last) day, clipped to the period: the links of the monthly table."""
    result = {}
    for month in period.months():
        year, number = (int(x) for x in month.split("-"))
        whole = Period.month(year, number)
        result[month] = (max(whole.start, period.start).isoformat(), min(whole.end, period.end).isoformat())
    return result


def _cases_url(query: dict[str, str]):  # noqa: ANN202 - a URL builder for the template
    def build(figure: str, **extra: Any) -> str:
        return url_for("oversight.cases", **{**query, "figure": figure, **{k: v for k, v in extra.items() if v}})

    return build


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@bp.app_template_filter("pct")
def _pct(value: float | None) -> str:
    return percent(value)


@bp.app_template_filter("days")
def _days(value: float | None) -> str:
    return days(value)


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    """`may_see_statistics()` for the header's 统计调度 link."""
    return {"may_see_statistics": lambda: current_user.is_authenticated and may_see_dashboard(current_user)}
