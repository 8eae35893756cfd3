"""Oversight figures against hand-computed answers on the data set of oversight_data.py (2026 Q1, at NOW).

Due times used below, as the engine computed them from the working-day calendar (asserted in the first test):
verify 15 working days, screening 7, e.g. A's verify created 01-06 → due 01-27 23:59:59; D's 01-13 → 02-03
(Spring Festival 02-15…02-23 is after it); C's 02-03 → 03-02 (across the festival); E's 03-03 → 03-24;
F's 02-25 → 03-17, moved 4 working days later by the pause 02-26 → 03-03 → 03-23; R's first 01-07 → 01-28, after
the reopening 01-14 → 02-04.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from engine.credit import jobs as credit_jobs
from engine.errors import PermissionDenied
from engine.org.models import Official
from engine.oversight import drill
from engine.oversight.figures import FIGURES, value
from engine.oversight.periods import Period
from engine.oversight.scope import Scope, check_scope, resolve_scope
from engine.oversight.statistics import figures, ranking, stage_timings
from engine.workflow.models import HumanTask
from tests.integration.oversight_data import NOW, build, set_deliveries, yn

Q1 = Period.quarter(2026, 1)
DELIVERIES = {  # record document number:version → (status, delay after queueing, attempts)
    # D's record: version 1 was the draft the DRC sent back (never sent); version 2 went out when it approved
    "红工信认〔2026〕1号:2": ("on_time", timedelta(hours=1), 1),
    "红工信认〔2026〕1号:3": ("failing", None, 2),
    "曲商认〔2025〕2号:1": ("on_time", timedelta(minutes=10), 1),  # queued in 2025: outside Q1
    "曲商认〔2025〕2号:2": ("on_time", timedelta(hours=20), 1),
    "曲商认〔2025〕2号:3": ("pending", None, 0),
    "红工信认〔2026〕0号:1": ("late", timedelta(days=2), 1),
}


@pytest.fixture
def data(session: Session, official: Callable[[str], Official]):  # noqa: ANN201
    built = build(session, official)
    assert credit_jobs.fan_out(session, "national") == len(DELIVERIES)  # the national platform's copies are not counted
    set_deliveries(session, DELIVERIES)
    return built


def intake(received: int, accepted: int = 0, rejected: int = 0, merged: int = 0, pending: int = 0) -> dict:
    return {"received": received, "accepted": accepted, "rejected": rejected, "merged": merged, "pending": pending}


def test_the_data_set_is_what_the_expectations_assume(session: Session, data) -> None:  # noqa: ANN001
    due = {(t.subject_id, t.spec_name): t.due_at.replace(tzinfo=None) for t in session.query(HumanTask)
           if t.spec_name in ("verify", "screening")}
    c = data.cases
    assert due[(c["A"].id, "verify")] == yn(2026, 1, 27, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["D"].id, "verify")] == yn(2026, 2, 3, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["C"].id, "verify")] == yn(2026, 3, 2, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["E"].id, "verify")] == yn(2026, 3, 24, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["F"].id, "verify")] == yn(2026, 3, 23, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["B0"].id, "screening")] == yn(2026, 1, 12, 23, 59, 59).replace(tzinfo=None)
    assert due[(c["H"].id, "screening")] == yn(2026, 4, 9, 23, 59, 59).replace(tzinfo=None)
    for name in c:
        session.refresh(c[name])
    assert {n: (k.status, k.result) for n, k in c.items()} == {
        "A": ("closed", "rectified"), "G": ("merged", "merged"), "B": ("closed", "rejected"),
        "B0": ("screening", None), "D": ("closed", "breach_reported"), "E": ("verifying", None),
        "F": ("negotiating", None), "H": ("screening", None), "C": ("closed", "unfounded"),
        "R": ("closed", "rectified")}
    assert c["D"].supervised_at is not None
    assert c["E"].supervised_at is not None


def test_intake_by_channel_domain_prefecture_and_month(session: Session, data) -> None:  # noqa: ANN001
    f = figures(session, Q1, now=NOW)
    # A G B D E F H C R received in Q1 (B at 01-01 00:30 Yunnan time is 2025 in UTC); B0 at 2025-12-31 23:30 is
    # not; R, reopened, is one complaint
    assert f.intake.__dict__ == intake(9, accepted=6, rejected=1, merged=1, pending=1)
    assert {k: v.__dict__ for k, v in f.by_channel.items()} == {
        "counter": intake(3, accepted=3), "credit_yunnan": intake(2, accepted=2),
        "hotline_12345": intake(1, rejected=1), "business_env": intake(1, merged=1),
        "petition": intake(1, accepted=1), "miit": intake(1, pending=1)}
    assert list(f.by_channel) == ["counter", "credit_yunnan", "hotline_12345", "business_env", "petition", "miit"]
    assert {k: v.received for k, v in f.by_domain.items()} == {
        "government_procurement": 1, "bidding": 2, "investment_promotion": 3, "ppp": 1, "industrial_support": 1,
        "other": 1}
    assert {k: v.__dict__ for k, v in f.by_prefecture.items()} == {
        "530100": intake(3, accepted=1, rejected=1, merged=1), "530300": intake(3, accepted=2, pending=1),
        "532500": intake(1, accepted=1), "532900": intake(1, accepted=1), "530000": intake(1, accepted=1)}
    assert {k: v.received for k, v in f.by_month.items()} == {"2026-01": 5, "2026-02": 2, "2026-03": 2}


def test_verification_on_time_outcomes_and_overdue(session: Session, data) -> None:  # noqa: ANN001
    f = figures(session, Q1, now=NOW)
    # due in Q1: A (01-27, on time), R twice (01-28 and, reopened, 02-04: both on time), D (02-03, late: done
    # 02-13), E (03-24, open past due), F (03-23, on time, the pause moved it), C (03-02, on time, migrated:
    # counted once)
    assert (f.verification.due, f.verification.on_time, f.verification.late, f.verification.late_open) == (7, 5, 1, 1)
    assert f.verification.rate == 0.7143
    assert {m: (v.due, v.on_time) for m, v in f.verification_by_month.items()} == {
        "2026-01": (2, 2), "2026-02": (2, 1), "2026-03": (3, 2)}
    o = f.outcomes
    # A D R founded (R as reopened: its first verdict was replaced), C unfounded, F disputed
    assert (o.verified, o.founded, o.unfounded, o.disputed, o.rectifying, o.rectified, o.breach_reported) == (
        5, 3, 1, 1, 0, 2, 1)
    assert (o.founded_rate, o.rectification_rate) == (0.6, 0.6667)
    # open past due at 04-10 10:00: B0 screening (due 01-12, 87 d 10 h), E verify (due 03-24, 16 d 10 h, 挂牌督办),
    # H screening (due 04-09, 10 h); F's dispute is due 04-17
    d = f.overdue
    assert (d.total, d.supervised, d.by_stage) == (3, 1, {"screening": 2, "verify": 1})
    assert d.buckets == {"d0_5": 1, "d6_15": 0, "d16_30": 1, "d31_": 1}
    assert (d.max_days, d.mean_days) == (87.42, 34.75)


def test_stage_days_median_and_90th_percentile(session: Session, data) -> None:  # noqa: ANN001
    exact = ("window", "native") if session.get_bind().dialect.name == "postgresql" else ("window",)
    for method in (None, *exact):  # hour-bucket counts (the default) and exact per-row percentiles agree
        stages = {s.stage: (s.count, s.median_days, s.p90_days, s.mean_days)
                  for s in stage_timings(session, Q1, now=NOW, method=method)}
        assert stages == {
            # A B D E F C and R twice, one day each; G's was withdrawn by the merge
            "screening": (8, 1.0, 1.0, 1.0),
            "designate_supervisor": (0, None, None, None),
            # A 2, R 2 and 2, D 31, F 8 − 5 paused = 3, C 3 → [2, 2, 2, 3, 3, 31]: median at rank 2.5 → 2.5,
            # p90 at rank 4.5 → 3 + 0.5·28 = 17, mean 43 / 6
            "verify": (6, 2.5, 17.0, 7.17),
            "resolve_dispute": (0, None, None, None),
            "order_rectification": (3, 1.0, 1.0, 1.0),
            "report_rectification": (2, 10.0, 10.0, 10.0),  # A and R; D's was withdrawn by its deadline timer
            "review_rectification": (2, 2.0, 2.0, 2.0),
            "confirm_breach_task": (2, 2.5, 2.9, 2.5),  # D twice (sent back by the DRC): 2 and 3 days
            "ndrc_review": (2, 1.0, 1.0, 1.0),
            # closed in Q1, not rejected or merged: C 5, A 16, R 23 (received 01-06, closed again 01-29), D 57 →
            # median at rank 1.5 → 19.5, p90 at rank 2.7 → 23 + 0.7·34 = 46.8, mean 101 / 4
            "total": (4, 19.5, 46.8, 25.25),
        }, method
    if session.get_bind().dialect.name == "sqlite":
        with pytest.raises(Exception):  # noqa: B017,PT011 - SQLite has no ordered-set aggregates
            stage_timings(session, Q1, now=NOW, method="native")


def test_breaches_measures_repairs_and_data_quality(session: Session, data) -> None:  # noqa: ANN001
    f = figures(session, Q1, now=NOW)
    assert f.credit.__dict__ == {
        "breaches_confirmed": 2,  # D's record (determined 03-09 after the DRC sent it back) and M2
        "breaches_migrated": 1, "records_with_measures": 1,
        "repeat_respondents": 1,  # 蒙自市工信局: D's record and M2
        "measures_applied": 2, "measures_ended": 1,  # M1's measure ended by its repair on 03-20
        "measures_active": 1, "repairs": 1}
    q = f.quality
    assert (q.records, q.records_missing) == (2, 1)  # D's respondent and determining department have no uscc
    assert {k: v for k, v in q.missing_by_field.items() if v} == {"respondent_uscc": 1, "determining_uscc": 1}
    assert (q.deliveries, q.delivered_on_time, q.delivered_late, q.failing, q.pending) == (5, 2, 1, 1, 1)


def test_scope_prefecture_department_channel_and_domain(session: Session, data, official) -> None:  # noqa: ANN001
    km = figures(session, Q1, Scope.of_prefecture("530100"), now=NOW)
    assert km.intake.__dict__ == intake(3, accepted=1, rejected=1, merged=1)
    assert (km.verification.due, km.overdue.total, km.credit.breaches_confirmed) == (1, 1, 0)  # B0 is overdue
    hh = figures(session, Q1, Scope.of_prefecture("532500"), now=NOW)
    assert (hh.intake.received, hh.credit.breaches_confirmed, hh.quality.deliveries, hh.quality.failing) == (1, 2, 3, 1)
    guandu = resolve_scope(session, official("ndrc"), department_code="km-guandu-commerce")
    dept = figures(session, Q1, guandu, now=NOW)
    assert (dept.intake.received, dept.intake.merged, dept.outcomes.rectified) == (2, 1, 1)
    counter = figures(session, Q1, channel="counter", now=NOW)
    assert (counter.intake.received, counter.verification.due, counter.overdue.total) == (3, 3, 2)  # E and B0
    assert counter.credit.breaches_confirmed == 1  # M2 came from no complaint, so from no channel
    assert figures(session, Q1, domain="investment_promotion", now=NOW).intake.__dict__ == intake(3, 2, merged=1)


def test_ranking_by_prefecture_and_department(session: Session, data) -> None:  # noqa: ANN001
    rows = ranking(session, Q1, by="prefecture", now=NOW)
    assert [r.key for r in rows][:3] == ["530100", "530300", "530400"]
    assert len(rows) == 17
    assert rows[-1].key == "530000"
    by = {r.key: r for r in rows}
    km, qj, hh = by["530100"], by["530300"], by["532500"]
    assert (km.received, km.accepted, km.rejected, km.verify_due, km.verify_on_time, km.overdue_now) == (3, 1, 1, 1, 1, 1)
    assert (qj.received, qj.repairs, qj.measures_applied, qj.deliveries, qj.deliveries_late_or_failing) == (3, 1, 1, 2, 0)
    assert (qj.verify_due, qj.verify_on_time, qj.founded, qj.rectified) == (3, 3, 1, 1)  # C, R twice; R
    assert (hh.breaches_confirmed, hh.records_with_measures, hh.repeat_respondents, hh.records_missing) == (2, 1, 1, 1)
    assert (hh.on_time_rate, hh.rectification_rate, hh.data_quality_rate, hh.punishment_rate) == (0.0, 0.0, 0.5, 0.5)
    assert (hh.deliveries, hh.deliveries_late_or_failing) == (3, 2)  # D:2 on time, D:3 failing, M2:1 late
    assert by["530000"].overdue_now == 1
    assert by["532900"].founded_rate == 0.0
    assert by["533400"].received == 0
    assert by["533400"].on_time_rate is None
    only_km = ranking(session, Q1, by="prefecture", scope=Scope.of_prefecture("530100"), now=NOW)
    assert [r.key for r in only_km] == ["530100"]
    depts = {r.label: r for r in ranking(session, Q1, by="department", now=NOW)}
    # complaints count for the respondent, verification for the department that verified
    assert (depts["昆明市官渡区商务局"].received, depts["昆明市官渡区商务局"].verify_due) == (2, 0)
    assert (depts["昆明市商务局"].received, depts["昆明市商务局"].verify_due) == (0, 1)
    assert depts["蒙自市工业和信息化局"].breaches_confirmed == 2
    provincial = ranking(session, Q1, by="department", level="province", now=NOW)
    assert {r.label for r in provincial} == {"云南省商务厅", "云南省人民政府"}  # E's respondent; its verifier


def test_the_cases_behind_each_number(session: Session, data) -> None:  # noqa: ANN001
    c = data.cases

    def names(figure: str, scope: Scope | None = None, **kw: str) -> set[str]:
        rows, total = drill.figure_cases(session, figure, Q1, scope or Scope.province(), now=NOW, **kw)
        assert total == len(rows)
        return {n for n, k in c.items() if k.id in {r.id for r in rows}}

    assert names("received") == {"A", "B", "C", "D", "E", "F", "G", "H", "R"}
    assert names("accepted") == {"A", "C", "D", "E", "F", "R"}
    assert names("rejected") == {"B"}
    assert names("merged") == {"G"}
    assert names("pending") == {"H"}
    assert names("founded") == {"A", "D", "R"}
    assert names("unfounded") == {"C"}
    assert names("disputed") == {"F"}
    assert names("verify_due") == {"A", "C", "D", "E", "F", "R"}
    assert names("verify_on_time") == {"A", "C", "F", "R"}
    assert names("verify_late") == {"D", "E"}
    assert names("overdue") == {"B0", "E", "H"}
    assert names("supervised") == {"E"}
    assert names("breaches") == {"D"}
    assert names("records_missing") == {"D"}
    assert names("deliveries_bad") == {"D"}
    assert names("measures_applied") == {"D"}
    # numbers of measures and of platform versions list those, as many as the number (M1's measure included)
    f = figures(session, Q1, now=NOW)
    measures = drill.figure_rows(session, "measures_applied", Q1, Scope.province(), now=NOW)
    assert (measures.kind, measures.total, len(measures.rows)) == ("measures", f.credit.measures_applied, 2)
    assert {m.document_number for m in measures.rows} == {"红发改〔2026〕3号", "曲发改〔2026〕1号"}
    for figure, number in (("deliveries", f.quality.deliveries), ("deliveries_on_time", f.quality.delivered_on_time),
                           ("deliveries_late", f.quality.delivered_late), ("deliveries_failing", f.quality.failing),
                           ("deliveries_pending", f.quality.pending)):
        versions = drill.figure_rows(session, figure, Q1, Scope.province(), now=NOW)
        assert (versions.kind, versions.total, len(versions.rows)) == ("deliveries", number, number), figure
        assert {d.target for d, _record in versions.rows} <= {"provincial"}
    hh = drill.figure_rows(session, "deliveries_late", Q1, Scope.of_prefecture("532500"), now=NOW)
    assert [f"{r.document_number}:{d.record_version}" for d, r in hh.rows] == ["红工信认〔2026〕0号:1"]
    assert names("stage:confirm_breach_task") == {"D"}
    assert names("received", Scope.of_prefecture("530100")) == {"A", "B", "G"}
    assert names("overdue", Scope.of_prefecture("530100")) == {"B0"}
    assert names("received", channel="counter", domain="investment_promotion") == {"A", "D"}


def test_scope_rules(session: Session, official) -> None:  # noqa: ANN001
    assert resolve_scope(session, official("ndrc"), "530300").prefecture == "530300"
    assert resolve_scope(session, official("ndrc")).kind == "province"
    assert resolve_scope(session, official("km-drc")).prefecture == "530100"  # a lead's default: its prefecture
    with pytest.raises(PermissionDenied, match="只能查看本州"):
        resolve_scope(session, official("km-drc"), "530300")
    with pytest.raises(PermissionDenied, match="只能查看本州"):
        resolve_scope(session, official("km-drc"), department_code="qj-commerce")
    assert resolve_scope(session, official("km-drc"), department_code="km-commerce").department_id
    for username in ("km-commerce", "guandu-commerce", "km-gov", "yn-commerce"):  # respondents, supervisors
        with pytest.raises(PermissionDenied):
            resolve_scope(session, official(username))
    with pytest.raises(PermissionDenied):
        check_scope(official("qj-drc"), Scope.province())


def test_each_drill_down_lists_as_many_as_its_figure_counts(session: Session, data) -> None:  # noqa: ANN001
    """One definition per figure (engine/oversight/figures.py): the drill-down behind a number has that many rows."""
    counted = figures(session, Q1, now=NOW).as_dict()
    compared = []
    for key in drill.FIGURES:
        number = value(counted, key) if FIGURES[key].path else None
        if number is None:
            continue
        drilled = drill.figure_rows(session, key, Q1, Scope.province(), now=NOW)
        compared.append((key, drilled.total, number))
    assert [(key, total) for key, total, _ in compared] == [(key, number) for key, _, number in compared], repr(compared)
    assert len(compared) >= 20
