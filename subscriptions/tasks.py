"""Background jobs about followers."""
from __future__ import annotations

from datetime import UTC, datetime

import redis.exceptions

from core.db import session_scope
from core.queue import celery_app
from core.redis import get_redis
from subscriptions import service


@celery_app.task(name="subscriptions.flush_last_seen")
def flush_last_seen() -> int:
    """Move the last-interaction times the webhook collected in Redis into the database."""
    r = get_redis()
    batch = f"{service.LAST_SEEN_KEY}:flushing"
    if not r.exists(batch):  # a batch left by a crashed run is written first
        try:
            r.rename(service.LAST_SEEN_KEY, batch)
        except redis.exceptions.ResponseError:  # nothing collected since the last run
            return 0
    seen = {openid: datetime.fromtimestamp(int(ts), UTC) for openid, ts in r.hgetall(batch).items()}
    with session_scope() as session:
        service.touch(session=session, last_seen=seen)
    r.delete(batch)
    return len(seen)
