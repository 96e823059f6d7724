"""Delivery receipts from the webhook: TEMPLATESENDJOBFINISH (one follower) and MASSSENDJOBFINISH
(a mass_tag campaign's counts).

`record_receipt` is the webhook's handler for both events. A receipt can overtake the outcome it
reports (WeChat answers the send, then the worker writes the msgid a moment later): a receipt that
matches no delivery or campaign yet waits in Redis and the tick tries it again for a while.
"""
from __future__ import annotations

import json
import logging
import time

from sqlalchemy import update

from core.db import session_scope, utcnow
from core.redis import get_redis
from push.models import Campaign, Channel, Delivery, DeliveryStatus
from wechat.messages import Inbound

log = logging.getLogger(__name__)
UNMATCHED = "push:receipts:unmatched"
KEEP_SECONDS = 600
MASS_COUNTS = {"TotalCount": "mass_total", "FilterCount": "mass_filtered", "SentCount": "mass_sent",
               "ErrorCount": "mass_errors"}


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


def apply_mass(msgid: int, status_text: str, counts: dict[str, str]) -> bool:
    """Store WeChat's counts on the mass_tag campaign with this msg_id; False when none matches (yet)."""
    values = {column: int(counts[key]) for key, column in MASS_COUNTS.items() if counts.get(key, "").isdigit()}
    with session_scope() as s:
        n = s.execute(update(Campaign).where(Campaign.channel == Channel.mass_tag, Campaign.mass_msg_id == msgid)
                      .values(mass_status=status_text[:64], **values)).rowcount
    return bool(n)


def _apply(msgid: int, status: str, counts: dict[str, str] | None) -> bool:
    return apply(msgid, status) if counts is None else apply_mass(msgid, status, counts)


def record_receipt(msg: Inbound) -> None:
    """Webhook handler for `event.templatesendjobfinish` and `event.masssendjobfinish` (no reply)."""
    raw = msg.fields.get("MsgID") or msg.fields.get("MsgId") or msg.msg_id
    try:
        msgid = int(raw or "")
    except ValueError:
        log.warning("receipt without a msgid", extra={"event": msg.event})
        return
    status = msg.fields.get("Status", "")
    counts = None
    if msg.event == "masssendjobfinish":  # one per mass send: logged too, it settles an unknown outcome
        counts = {key: msg.fields.get(key, "") for key in MASS_COUNTS}
        log.info("mass send finished", extra={"msgid": msgid, "status": status, **counts})
    if not _apply(msgid, status, counts):
        get_redis().rpush(UNMATCHED, json.dumps([msgid, status, time.time(), counts]))


def retry_unmatched(limit: int = 10_000) -> int:
    """Try receipts that arrived before their delivery's msgid was written; drop them after 10 min."""
    r = get_redis()
    matched = 0
    for _ in range(min(limit, r.llen(UNMATCHED))):
        raw = r.lpop(UNMATCHED)
        if raw is None:
            break
        msgid, status, at, counts = json.loads(raw)
        if _apply(msgid, status, counts):
            matched += 1
        elif time.time() - at < KEEP_SECONDS:
            r.rpush(UNMATCHED, raw)
    return matched
