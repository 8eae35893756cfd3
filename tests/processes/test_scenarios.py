"""Every bundled scenario (processes/scenarios/*.json) runs on its process and ends as it expects, plain and
through a save/restore round trip after each step; and a run writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.workflow import scenarios, specs
from engine.workflow.models import ProcessInstance
from tests.conftest import PROCESSES

BUNDLED = [(path.stem, scenario["name"]) for path in sorted(PROCESSES.glob("*.bpmn"))
           for scenario in specs.bundle_from_directory(path).scenarios]


def test_every_bundled_process_has_scenarios() -> None:
    assert {key for key, _ in BUNDLED} == {p.stem for p in PROCESSES.glob("*.bpmn")}
    assert len([1 for key, _ in BUNDLED if key == "complaint"]) >= 11


@pytest.mark.parametrize("save_restore", [False, True])
@pytest.mark.parametrize(("key", "name"), BUNDLED)
def test_bundled_scenario_ends_as_expected(session: Session, key: str, name: str, save_restore: bool) -> None:
    bundle = specs.bundle_from_directory(PROCESSES / f"{key}.bpmn")
    checked = specs.check_bundle(bundle, acknowledge_warnings=True)
    [scenario] = [s for s in scenarios.parse_scenarios(bundle.scenarios) if s.name == name]
    instances = session.scalar(select(func.count()).select_from(ProcessInstance))
    run = scenarios.run(session, checked.spec, checked.subprocess_specs, bundle.forms, bundle.bpmn_xml, scenario,
                        round_trip=save_restore)
    assert run.error is None, run.error
    assert run.diverged is None, run.diverged
    assert run.outcome() == scenario.expected
    assert run.elements[-1] == scenario.expected["end"]
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == instances
    assert not session.new
    assert not session.dirty
