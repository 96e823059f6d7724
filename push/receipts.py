"""Delivery receipts from the webhook: TEMPLATESENDJOBFINISH (one follower) and MASSSENDJOBFINISH.

`record_receipt` is the webhook's handler for both events. A receipt can overtake the outcome it
reports (WeChat answers the send, then the worker writes the msgid a moment later): a receipt that
matches no delivery yet waits in Redis and the tick tries it again for a while.
"""
from __future__ import annotations

import json
import logging
import time

from sqlalchemy import update

from core.db import session_scope, utcnow
from core.redis import get_redis
from push.models import Delivery, DeliveryStatus
from wechat.messages import Inbound

log = logging.getLogger(__name__)
UNMATCHED = "push:receipts:unmatched"
KEEP_SECONDS = 600


def _status(text: str) -> tuple[DeliveryStatus, str | None]:
    text = text.strip().lower()
    if text == "success":
        return DeliveryStatus.delivered, None
    if "user block" in text:
        return DeliveryStatus.blocked, "user block"
    return DeliveryStatus.failed, "receipt: " + (text.removeprefix("failed:").strip() or "failed")


def apply(msgid: int, status_text: str) -> bool:
    """Update the sent delivery with this msgid; False when none matches (yet)."""
    status, reason = _status(status_text)
    with session_scope() as s:
        n = s.execute(update(Delivery).where(Delivery.msgid == msgid, Delivery.status == DeliveryStatus.sent)
                      .values(status=status, reason=reason, receipt_at=utcnow())).rowcount
    return bool(n)


def record_receipt(msg: Inbound) -> None:
    """Webhook handler for `event.templatesendjobfinish` and `event.masssendjobfinish` (no reply)."""
    raw = msg.fields.get("MsgID") or msg.fields.get("MsgId") or msg.msg_id
    try:
        msgid = int(raw or "")
    except ValueError:
        log.warning("receipt without a msgid", extra={"event": msg.event})
        return
    if msg.event == "masssendjobfinish":
        # a mass send is one call: its counts are WeChat's, logged for staff (no per-follower receipt)
        log.info("mass send finished", extra={"msgid": msgid, "status": msg.fields.get("Status"),
                                               "sent": msg.fields.get("SentCount"),
                                               "errors": msg.fields.get("ErrorCount")})
        return
    status = msg.fields.get("Status", "")
    if not apply(msgid, status):
        get_redis().rpush(UNMATCHED, json.dumps([msgid, status, time.time()]))


def retry_unmatched(limit: int = 10_000) -> int:
    """Try receipts that arrived before their delivery's msgid was written; drop them after 10 min."""
    r = get_redis()
    matched = 0
    for _ in range(min(limit, r.llen(UNMATCHED))):
        raw = r.lpop(UNMATCHED)
        if raw is None:
            break
        msgid, status, at = json.loads(raw)
        if apply(msgid, status):
            matched += 1
        elif time.time() - at < KEEP_SECONDS:
            r.rpush(UNMATCHED, raw)
    return matched
