"""What the public sees of breach records in their publication period: the respondent (a government body) and
the determination, never the complainant. Repaired records and those past their last day are not listed.

`basis` is text an official wrote; it may name the agreement and so the complainant. Before it is shown, the
complainant's names, phone and code and any phone, ID or e-mail pattern are masked (engine.credit.redaction).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.cases.models import DOMAINS
from engine.credit.models import SEVERITIES, BreachRecord
from engine.credit.redaction import mask, personal_terms_of
from engine.paging import Total, capped_count

PUBLIC_FIELDS = ("id", "respondent_name", "respondent_uscc", "respondent_division", "determining_name",
                 "determined_on", "document_number", "basis", "domain", "domain_label", "severity_label",
                 "publication_start", "publication_end", "active_measures")


def in_publication(today: date) -> Any:
    """SQL condition: active, started, not past its last day and not stopped early."""
    return (BreachRecord.status == "active") & (BreachRecord.publication_start <= today) & or_(
        BreachRecord.publication_end.is_(None), BreachRecord.publication_end >= today) & or_(
        BreachRecord.published_until.is_(None), BreachRecord.published_until >= today)


def public_records(session: Session, today: date, limit: int | None = 50, offset: int = 0,
                   respondent: str | None = None) -> tuple[list[dict[str, Any]], Total]:
    """(rows, total) of the records in their publication period, newest first, as plain public dicts."""
    query = select(BreachRecord).where(in_publication(today))
    if respondent:
        pattern = "%" + respondent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(BreachRecord.respondent_name.like(pattern, escape="\\"))
    total = capped_count(session, query, offset)
    query = query.order_by(BreachRecord.publication_start.desc(), BreachRecord.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    records = list(session.scalars(query))
    terms = personal_terms_of(session, records)
    return [public_row(record, terms.get(record.id, [])) for record in records], total


def public_row(record: BreachRecord, terms: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The public fields of one record; `terms`: its complainants' data to mask in the basis text."""
    return {
        "id": record.id, "respondent_name": record.respondent_name, "respondent_uscc": record.respondent_uscc,
        "respondent_division": record.respondent_division, "determining_name": record.determining_name,
        "determined_on": record.determined_on, "document_number": record.document_number,
        "basis": mask(record.basis, terms), "domain": record.domain,
        "domain_label": DOMAINS.get(record.domain, record.domain),
        "severity_label": SEVERITIES.get(record.severity, record.severity),
        "publication_start": record.publication_start, "publication_end": record.publication_end,
        "active_measures": [m.measure_type.name for m in record.active_measures],
    }
