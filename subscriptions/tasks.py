"""Background jobs about followers."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis.exceptions
from wechatpy.exceptions import WeChatClientException

from core.db import session_scope
from core.queue import celery_app
from core.redis import get_redis
from subscriptions import service, tags
from wechat.client import get_client
from wechat.errors import Action, action_for

log = logging.getLogger(__name__)


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


@celery_app.task(name="subscriptions.sync_wechat_tags", bind=True, max_retries=5)
def sync_wechat_tags(self) -> dict | None:
    """Mirror parks and industry sections as WeChat tags (beat: hourly; staff: POST /api/wechat-tags/sync).

    One sync at a time (a Redis lock); a second request while one runs is dropped, the running one
    covers it. Safe to repeat: the sync re-reads everything and commits as it goes.
    """
    lock = get_redis().lock("subscriptions:wechat_tags:lock", timeout=3600)
    if not lock.acquire(blocking=False):
        log.info("wechat tag sync already running")
        return None
    try:
        with session_scope() as session:
            report = tags.sync(session=session, client=get_client())
    except WeChatClientException as exc:
        if action_for(exc) in (Action.retry, Action.refresh_token):
            raise self.retry(exc=exc, countdown=30 * 2 ** self.request.retries) from exc
        log.error("wechat tag sync failed", extra={"errcode": exc.errcode, "errmsg": exc.errmsg})
        return None
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:  # expired while we ran: nothing to release
            pass
    tags.store_report(report)
    return report.model_dump(mode="json", exclude={"batch_sizes"})
