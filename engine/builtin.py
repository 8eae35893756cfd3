"""The built-in processes' lanes, operations and start facts, the permission rules for one object and the
audit log's name resolvers, the batch jobs: imports every module that registers with the workflow runtime,
engine/org/permissions.py, engine/audit/services.py or engine/jobs.py. It stands on top of the engine's dependency graph,
like engine/models.py; the application (web.create_app), scripts and tests call `load_builtin` once before
deploying or running processes."""
from __future__ import annotations


def load_builtin() -> None:
    """Import the modules that register the built-in lanes, operations, start facts, permission rules and jobs."""
    import engine.models  # noqa: F401 - every table known to the metadata
    from engine.audit import jobs as audit_jobs  # noqa: F401 - audit-seal
    from engine.cases import access as case_access  # noqa: F401 - the rules for one case (engine.org.permissions)
    from engine.cases import (  # noqa: F401 - the complaint's lanes and operations
        disclosure,  # noqa: F401 - an audit search by tracking code
        lanes,
        operations,
        subject,  # noqa: F401 - the complaint as the subject of its instances
    )
    from engine.cases import services as case_services  # noqa: F401 - the complaint's start facts
    from engine.credit import access as record_access  # noqa: F401 - the rules for one breach record
    from engine.credit import (  # noqa: F401 - start facts of measures, credit_repair, typical_case
        correction,  # noqa: F401 - a case's correction withdraws its breach record
        exposure,
        services,
    )
    from engine.credit import jobs as credit_jobs  # noqa: F401 - platform-<target>
    from engine.credit import operations as credit_operations  # noqa: F401
    from engine.deadlines import timing  # noqa: F401 - working days, time limits, clock pauses
    from engine.intake import access as intake_access  # noqa: F401 - duplicates and channel keys
    from engine.intake import feedback  # noqa: F401 - start facts of objection
    from engine.intake import operations as intake_operations  # noqa: F401
    from engine.notify import jobs as notify_jobs  # noqa: F401 - mail, sms
    from engine.oversight import bulletins  # noqa: F401 - start facts of bulletin
    from engine.oversight import jobs as oversight_jobs  # noqa: F401 - timer-tick: bulletins
    from engine.oversight import operations as oversight_operations  # noqa: F401
    from engine.workflow import access as task_access  # noqa: F401 - the rules for one task
    from engine.workflow import jobs as workflow_jobs  # noqa: F401 - timer-tick: start timers, timers
    from engine.workflow import registry

    registry.mark_loaded()
