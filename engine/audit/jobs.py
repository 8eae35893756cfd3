"""The audit log's batch work: the `audit-seal` job seals the chains that grew into the global chain every
AUDIT_SEAL_SECONDS (engine/audit/chains.py); `flask --app web audit seal` does the same at once."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from engine.audit.chains import seal
from engine.jobs import Settings, job

logger = logging.getLogger(__name__)


@job("audit-seal", every="AUDIT_SEAL_SECONDS")
def seal_job(session: Session, settings: Settings) -> None:
    """Seal the heads of the chains that grew since the last seal, in one transaction."""
    made = seal(session)
    session.commit()
    if made is not None:
        logger.info("audit-seal job sealed %s chain(s) as seal #%s", made.chains, made.id)
