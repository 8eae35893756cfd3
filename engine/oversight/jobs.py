"""Oversight's batch work: generating the bulletins waiting for their snapshot (a step of the scheduler's
`timer-tick`, and what the web layer's background thread runs for one bulletin)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.jobs import Settings, job
from engine.oversight import bulletins
from engine.oversight.models import Bulletin
from engine.workflow import clock

logger = logging.getLogger(__name__)


def generate_pending(session: Session, now: datetime | None = None, only_id: int | None = None) -> int:
    """Generate every queued bulletin (or only `only_id`), each claimed by one runner and committed progress by
    progress; a failed generation is shown on its bulletin and the others go on. Returns how many were generated."""
    moment = as_utc(now) or clock.now()
    ids = bulletins.pending_ids(session, moment, only_id)
    session.rollback()
    done = 0
    for bulletin_id in ids:
        claimed = bulletins.claim(session, bulletin_id, moment)
        session.commit()
        if not claimed:
            continue  # another runner has it
        try:
            bulletins.generate(session, session.get(Bulletin, bulletin_id), moment, session.commit)
            done += 1
        except Exception as exc:  # a failed generation is shown on the bulletin; the reviewer may regenerate
            session.rollback()
            logger.exception("bulletin %s generation failed", bulletin_id)
            bulletins.mark_failed(session, bulletin_id, exc)
            session.commit()
    return done


@job("timer-tick", step="bulletins", order=20)
def bulletins_step(session: Session, settings: Settings) -> None:
    """Bulletins waiting for their snapshot (queued by the bulletin process a timer start event just started)."""
    generated = generate_pending(session)
    if generated:
        logger.info("scheduler tick generated %s bulletin(s)", generated)
