"""Imports every mapped class, so `Base.metadata` (create_all, Alembic) sees the whole schema."""
import engine.deadlines.milestones  # noqa: E402, F401, I001 - registers the announcer: milestones → SMS and email
import engine.documents.services  # noqa: F401 - registers the issuing of 公文 with the steps that decide
from engine.audit.models import AuditChain, AuditEvent, AuditSeal, AuditSealEntry
from engine.cases.models import SEARCH_FTS_TABLE, SEARCH_TRGM_INDEX, CaseEvent, Complaint
from engine.credit.models import AppliedMeasure, BreachRecord, ExchangeProfile, MeasureType, PlatformDelivery
from engine.deadlines.models import CalendarDay, CalendarYear, ClockPause, TimeLimit
from engine.documents.models import (
    DocumentCounter,
    DocumentSeries,
    DocumentTemplate,
    DocumentTemplateVersion,
    OfficialDocument,
)
from engine.intake.models import (
    CaseRating,
    ChannelKey,
    ComplaintReference,
    DuplicateCandidate,
    EvidenceFile,
    Objection,
    SupplementRequest,
)
from engine.notify.models import EmailOutbox, Notification, SmsOutbox
from engine.org.models import ApiToken, Department, Official, OfficialSession, WebSession
from engine.oversight.models import AssessmentSheet, Bulletin
from engine.settings_cache import SettingsGeneration
from engine.throttle import Throttle
from engine.workflow.models import HumanTask, LaneRole, ProcessInstance, ProcessModel, TimerStart

__all__ = [
    "ApiToken", "DocumentCounter", "DocumentSeries", "DocumentTemplate", "DocumentTemplateVersion", "OfficialDocument", "AppliedMeasure", "AssessmentSheet", "Bulletin", "AuditChain", "AuditEvent", "AuditSeal", "AuditSealEntry", "BreachRecord", "CalendarDay", "CalendarYear", "CaseEvent", "ChannelKey", "ComplaintReference", "ClockPause", "Complaint", "Department", "DuplicateCandidate", "EmailOutbox", "EvidenceFile", "ExchangeProfile", "HumanTask", "SupplementRequest", "CaseRating", "Objection", "LaneRole",
    "MeasureType", "Notification", "Official", "OfficialSession", "WebSession", "PlatformDelivery", "ProcessInstance", "ProcessModel", "SettingsGeneration", "SmsOutbox", "Throttle", "TimeLimit", "TimerStart",
]


def include_in_autogenerate(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic's filter: leave out what the database keeps for the case search beside the models (the SQLite FTS5
    table with its shadow tables, the PostgreSQL trigram index) — migrations manage them by hand."""
    if type_ == "table" and name is not None and (name == SEARCH_FTS_TABLE or name.startswith(SEARCH_FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name == SEARCH_TRGM_INDEX)
