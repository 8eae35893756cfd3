"""Delivering breach record versions to the credit platforms: one scheduler job per configured destination
(`platform-provincial`, `platform-national`), each committing after every row, so a platform outage delays
delivery and loses nothing; `flask --app web exchange deliver` runs the same delivery now."""
from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.credit import exchange, profiles
from engine.jobs import Settings, job
from engine.workflow import clock

logger = logging.getLogger(__name__)
# credit platform destinations: (endpoint URL setting, exchange directory setting); unset → not delivered
PLATFORM_SETTINGS = {
    "provincial": ("PLATFORM_ENDPOINT", "PLATFORM_DROP_DIR"),
    "national": ("NATIONAL_PLATFORM_ENDPOINT", "NATIONAL_PLATFORM_DROP_DIR"),
}


def fan_out(session: Session, target: str, now: datetime | None = None) -> int:
    """Copy the provincial rows `target` lacks as its own, one commit per batch; returns how many were copied.

    Two deliverers copying at once: the loser's commit hits the unique (target, key) constraint and is rolled
    back — the winner's rows are the same.
    """
    moment = now or clock.now()
    added = 0
    while True:
        copied = exchange.copy_missing(session, target, moment)
        if not copied:
            return added
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            logger.info("fan-out to %s raced with another deliverer; its rows stand", target)
            return added
        added += copied
        logger.info("queued %s record version(s) for the %s platform", copied, target)


def deliver(session: Session, endpoint_url: str | None = None, now: datetime | None = None, *,
            drop_dir: str | Path | None = None, timeout: float = 10.0, batch: int = 100,
            target: str = exchange.TARGET) -> int:
    """Deliver due rows of `target` in order, one commit each; returns how many were delivered.

    A record's versions go out in order: a version waits while an earlier one of the same record is undelivered
    (held ones included). For a target other than the provincial platform, missing rows are first copied
    (`fan_out`). Held rows that map now are released first; each version is mapped through `target`'s profile and
    sent (`exchange.deliver_one`). A failure ends this run: the platform is probably down, the next run tries again.
    """
    if not endpoint_url and drop_dir is None:
        return 0
    moment = exchange.moments(now)
    fan_out(session, target, moment())
    profile = profiles.profile_for(session, target)
    labels = profiles.our_codes(session)
    exchange.recheck_held(session, target, profile, moment(), labels)
    session.commit()
    delivered = 0
    for _ in range(batch):
        row = exchange.next_due(session, target, moment())
        if row is None:
            break
        outcome = exchange.deliver_one(session, row, profile, labels, moment, endpoint_url=endpoint_url,
                                       drop_dir=drop_dir, timeout=timeout)
        session.commit()
        if outcome == exchange.FAILED:
            break
        delivered += outcome == exchange.DELIVERED
    session.rollback()
    return delivered


def platform_configured(config: Settings, target: str) -> bool:
    """Whether the settings give `target` an endpoint or an exchange directory."""
    url_key, dir_key = PLATFORM_SETTINGS[target]
    return bool(config.get(url_key) or config.get(dir_key))


def deliver_platform(session: Session, config: Settings, target: str) -> int:
    """Deliver due breach record versions to `target` as configured (endpoint, else exchange directory)."""
    url_key, dir_key = PLATFORM_SETTINGS[target]
    return deliver(session, config.get(url_key), drop_dir=config.get(dir_key), target=target,
                   timeout=float(config.get("PLATFORM_DEADLINE_SECONDS") or 20))


def _platform_job(target: str, session: Session, config: Settings) -> None:
    delivered = deliver_platform(session, config, target)
    if delivered:
        logger.info("delivered %s breach record version(s) to the %s platform", delivered, target)


def _configured(target: str, config: Settings) -> bool:
    return platform_configured(config, target)


for _target in PLATFORM_SETTINGS:  # platform-provincial, platform-national: each only where configured
    job(f"platform-{_target}", when=partial(_configured, _target))(partial(_platform_job, _target))
