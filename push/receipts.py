"""Delivery receipts from the webhook: TEMPLATESENDJOBFINISH (one follower) and MASSSENDJOBFINISH
(a mass_tag campaign's counts).

`record_receipt` is the webhook's handler for both events. A receipt can overtake the outcome it
reports (WeChat answers the send, then the worker writes the msgid a moment later): a receipt that
matches no delivery or campaign yet waits in the database (`PendingReceipt`; Redis may be down when it
comes) and the tick tries it again for a while.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import session_scope, utcnow
from push.models import Campaign, Channel, Delivery, DeliveryStatus, PendingReceipt
from wechat.messages import Inbound

log = logging.getLogger(__name__)
KEEP = timedelta(minutes=10)
MASS_COUNTS = {"TotalCount": "mass_total", "FilterCount": "mass_filtered", "SentCount": "mass_sent",
               "ErrorCount": "mass_errors"}


def _status(text: str) -> tuple[DeliveryStatus, str | None]:
    text = text.strip().lower()
    if text == "success":
        return DeliveryStatus.delivered, None
    if "user block" in text:
        return DeliveryStatus.blocked, "user block"
    return DeliveryStatus.failed, "receipt: " + (text.removeprefix("failed:").strip() or "failed")


def apply(s: Session, msgid: int, status_text: str) -> bool:
    """Update the sent delivery with this msgid; False when none matches (yet)."""
    status, reason = _status(status_text)
    n = s.execute(update(Delivery).where(Delivery.msgid == msgid, Delivery.status == DeliveryStatus.sent)
                  .values(status=status, reason=reason, receipt_at=utcnow())).rowcount
    return bool(n)


def apply_mass(s: Session, msgid: int, status_text: str, counts: dict[str, str]) -> bool:
    """Store WeChat's counts on the mass_tag campaign with this msg_id; False when none matches (yet)."""
    values = {column: int(counts[key]) for key, column in MASS_COUNTS.items() if counts.get(key, "").isdigit()}
    n = s.execute(update(Campaign).where(Campaign.channel == Channel.mass_tag, Campaign.mass_msg_id == msgid)
                  .values(mass_status=status_text[:64], **values)).rowcount
    return bool(n)


def _apply(s: Session, msgid: int, status: str, counts: dict[str, str] | None) -> bool:
    return apply(s, msgid, status) if counts is None else apply_mass(s, msgid, status, counts)


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
    with session_scope() as s:
        if not _apply(s, msgid, status, counts):
            s.add(PendingReceipt(msgid=msgid, status=status[:64], counts=counts))


def retry_unmatched(limit: int = 10_000) -> int:
    """Try receipts that arrived before their delivery's msgid was written; drop them after 10 min."""
    matched = 0
    expired = utcnow() - KEEP
    with session_scope() as s:
        for pending in s.scalars(select(PendingReceipt).order_by(PendingReceipt.id).limit(limit)):
            if _apply(s, pending.msgid, pending.status, pending.counts):
                matched += 1
                s.delete(pending)
            elif pending.received_at < expired:
                s.delete(pending)
    return matched
