"""The few SQL expressions that differ between SQLite and PostgreSQL, and percentiles computed in SQL.

Everything else in engine/oversight is plain SQLAlchemy Core that both databases run unchanged.

- `days_between(end, start)`: elapsed days as a float. SQLite: `julianday(end) - julianday(start)`;
  PostgreSQL: `EXTRACT(EPOCH FROM end - start) / 86400`.
- `local_month(col)`: the `YYYY-MM` of a UTC timestamp in Asia/Shanghai (UTC+8 all year, no DST).
- `histogram_distribution(counts, percents)`: the same percentiles from value → count pairs that a GROUP BY
  returned (the statistics' default for stage durations: hour buckets, a few thousand rows at most).
- `percentiles(session, durations, fractions)`: exact per-group linear-interpolation percentiles (the
  definition of PostgreSQL's `percentile_cont`). PostgreSQL computes them with `percentile_cont ... WITHIN
  GROUP` (one aggregate pass). SQLite has no ordered-set aggregates: there a window query numbers each group's
  values (`ROW_NUMBER() OVER (PARTITION BY g ORDER BY v)`, `COUNT(*) OVER (PARTITION BY g)`) and returns
  only the two rows around each wanted rank (ranks found by integer arithmetic, so no FLOOR is needed);
  Python interpolates between those two values. Both give identical answers (tested on both databases).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, String, bindparam, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, Select

SHANGHAI_OFFSET_HOURS = 8


class days_between(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Days (float) from `start` to `end`; negative when `end` is earlier."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_sqlite(element: days_between, compiler, **kw) -> str:  # noqa: ANN001
    end, start = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler, **kw) -> str:  # noqa: ANN001
    end, start = list(element.clauses)
    return (f"CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"
            " / 86400.0 AS DOUBLE PRECISION)")


class local_month(FunctionElement):  # noqa: N801
    """`YYYY-MM` of a UTC timestamp column, as a Yunnan calendar month."""

    type = String()
    name = "local_month"
    inherit_cache = True


@compiles(local_month)
def _month_sqlite(element: local_month, compiler, **kw) -> str:  # noqa: ANN001
    (col,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(col, **kw)}, '+{SHANGHAI_OFFSET_HOURS} hours')"


@compiles(local_month, "postgresql")
def _month_pg(element: local_month, compiler, **kw) -> str:  # noqa: ANN001
    (col,) = list(element.clauses)
    return f"to_char({compiler.process(col, **kw)} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


def moment(name: str, value: datetime) -> ColumnElement:
    """A bound timestamp (UTC) usable inside days_between and comparisons on both databases."""
    return bindparam(name, value.astimezone(UTC), type_=DateTime(timezone=True))


def earlier(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The earlier of two timestamps (portable LEAST)."""
    from sqlalchemy import case

    return case((a < b, a), else_=b)


def later(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The later of two timestamps (portable GREATEST)."""
    from sqlalchemy import case

    return case((a > b, a), else_=b)


@dataclass(frozen=True)
class Distribution:
    """Count, mean and the requested percentiles of one group's values (days)."""

    count: int
    mean: float | None
    values: dict[int, float | None]  # percent (e.g. 50, 90) → value


def percentiles(session: Session, durations: Select, percents: tuple[int, ...] = (50, 90),
                method: str | None = None) -> dict[str, Distribution]:
    """Per-group percentiles of `durations`, a SELECT of two columns labelled `g` (group) and `v` (value).

    `method` is "native" (PostgreSQL percentile_cont) or "window" (portable); None picks native on PostgreSQL.
    """
    dialect = session.get_bind().dialect.name
    method = method or ("native" if dialect == "postgresql" else "window")
    sub = durations.subquery("durations")
    if method == "native":
        columns = [func.percentile_cont(p / 100).within_group(sub.c.v.asc()).label(f"p{p}") for p in percents]
        rows = session.execute(select(sub.c.g, func.count(), func.avg(sub.c.v), *columns).group_by(sub.c.g)).all()
        return {row[0]: Distribution(int(row[1]), _float(row[2]),
                                     {p: _float(row[3 + i]) for i, p in enumerate(percents)}) for row in rows}
    ranked = select(
        sub.c.g, sub.c.v,
        func.row_number().over(partition_by=sub.c.g, order_by=sub.c.v).label("rn"),
        func.count().over(partition_by=sub.c.g).label("n"),
        func.avg(sub.c.v).over(partition_by=sub.c.g).label("mean"),
    ).subquery("ranked")
    # 0-based position p·(n−1)/100 = lo + frac: keep the rows at 1-based ranks lo+1 and lo+2 (integer division).
    wanted = [ranked.c.rn - 1 == (ranked.c.n - 1) * p // 100 for p in percents]
    wanted += [ranked.c.rn - 2 == (ranked.c.n - 1) * p // 100 for p in percents]
    rows = session.execute(select(ranked.c.g, ranked.c.rn, ranked.c.n, ranked.c.mean, ranked.c.v)
                           .where(or_(*wanted))).all()
    by_group: dict[str, dict[int, float]] = defaultdict(dict)
    meta: dict[str, tuple[int, float | None]] = {}
    for g, rn, n, mean, v in rows:
        by_group[g][int(rn)] = float(v)
        meta[g] = (int(n), _float(mean))
    result = {}
    for g, ranks in by_group.items():
        n, mean = meta[g]
        values = {}
        for p in percents:
            lo, frac_num = divmod(p * (n - 1), 100)
            low = ranks[lo + 1]
            high = ranks.get(lo + 2, low)
            values[p] = low + (high - low) * frac_num / 100
        result[g] = Distribution(n, mean, values)
    return result


def histogram_distribution(counts: Mapping[int, int], percents: tuple[int, ...] = (50, 90),
                           per_unit: int = 1) -> Distribution:
    """Count, mean and linear-interpolation percentiles of integer values given as value → how many times;
    `per_unit` divides the results (e.g. 24 for hours → days). Same definition as `percentile_cont`."""
    items = sorted((v, n) for v, n in counts.items() if n > 0)
    total = sum(n for _v, n in items)
    if not total:
        return Distribution(0, None, dict.fromkeys(percents))

    def value_at(rank: int) -> int:  # 0-based rank in the sorted multiset
        seen = 0
        for value, n in items:
            seen += n
            if rank < seen:
                return value
        return items[-1][0]

    values = {}
    for p in percents:
        lo, frac_num = divmod(p * (total - 1), 100)
        low = value_at(lo)
        high = value_at(lo + 1) if frac_num else low
        values[p] = (low + (high - low) * frac_num / 100) / per_unit
    mean = sum(v * n for v, n in items) / total / per_unit
    return Distribution(total, mean, values)


def _float(value: object) -> float | None:
    return None if value is None else float(value)
