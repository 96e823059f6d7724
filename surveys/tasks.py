"""Background jobs of surveys."""
from __future__ import annotations

import logging

from core.db import session_scope, utcnow
from core.queue import celery_app
from surveys import service

log = logging.getLogger(__name__)


@celery_app.task(name="surveys.close_due")
def close_due() -> list[int]:
    """Close the surveys whose closing time has passed (beat, every minute; safe to run twice)."""
    with session_scope() as session:
        closed = service.close_due(session=session, now=utcnow())
    for survey_id in closed:
        log.info("survey closed at its closing time", extra={"survey_id": survey_id})
    return closed
