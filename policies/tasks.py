"""Background jobs of the policy library."""
from __future__ import annotations

import logging
from datetime import date

from core.db import session_scope
from core.queue import celery_app
from policies import service

log = logging.getLogger(__name__)


@celery_app.task(name="policies.refresh_status")
def refresh_status(on: str | None = None) -> int:
    """Move policies whose dates say so to in force, expired or back (beat, hourly; safe to run twice).
    `on` is an ISO date, for a run as of another day; default today in the government's time zone."""
    day = date.fromisoformat(on) if on else service.today()
    with session_scope() as session:
        moved = service.refresh_statuses(session=session, on=day)
        for policy, old, new in moved:
            log.info("policy status follows its dates", extra={"policy_id": policy.id, "from": old.value,
                                                                "to": new.value, "on": day.isoformat()})
    return len(moved)
