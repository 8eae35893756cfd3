"""What the DRC's correction of a case (engine/cases/correction.py) withdraws on the credit side: the breach
record made from the steps it undoes (registered with `correction.withdrawal`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.cases import correction
from engine.cases.models import Complaint
from engine.credit import services as credit
from engine.org.models import Official


@correction.withdrawal
def withdraw_breach_record(session: Session, complaint: Complaint, actor: Official, reason: str,
                           now: datetime) -> list[str]:
    """The case's draft or public breach record, withdrawn (its label and document number)."""
    record = credit.record_for_complaint(session, complaint.id)
    if record is None or record.status not in ("draft", "active"):
        return []
    label = "已公示的违约失信记录" if record.status == "active" else "待复核的违约失信记录"
    credit.withdraw_record(session, record, f"省发展改革委纠错：{reason}", actor, now)
    return [f"{label}（{record.document_number}）"]
