"""The deliveries table as the send loop uses it: write recipients once, claim, renew, release, record.

Every row moves pending -> claimed -> outcome. The claim is a conditional UPDATE (and on PostgreSQL
`FOR UPDATE SKIP LOCKED`), so two workers never hold the same row; the outcome is written only by
the holder of the claim. A claim not renewed within the lease is returned to pending and sent again
with the same `client_msg_id`, which WeChat answers without sending twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import utcnow
from push.models import Campaign, Delivery, DeliveryStatus
from subscriptions.models import Follower
from subscriptions.segments import Recipient

D = DeliveryStatus
_t = Delivery.__table__


def client_msg_id(campaign_id: int, follower_id: int) -> str:
    """The same for every send of one campaign to one follower: WeChat drops repeats within 10 min."""
    return f"pp-{campaign_id}-{follower_id}"


def insert_ignoring(session: Session, table, keys: list[str]):
    """INSERT that leaves rows already there (by the unique `keys`) as they are."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    return insert(table).prefix_with("IGNORE")


def write_recipients(*, session: Session, campaign_id: int, recipients: list[Recipient],
                     chunk: int = 1000) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: writing the same recipients again adds nothing."""
    for i in range(0, len(recipients), chunk):
        rows = [{"campaign_id": campaign_id, "follower_id": r.follower_id, "openid": r.openid,
                 "status": D.pending.value, "client_msg_id": client_msg_id(campaign_id, r.follower_id),
                 "attempts": 0} for r in recipients[i:i + chunk]]
        session.execute(insert_ignoring(session, _t, ["campaign_id", "follower_id"]).values(rows))
    session.flush()


def last_written_follower(*, session: Session, campaign_id: int) -> int:
    return session.scalar(select(func.max(Delivery.follower_id)).where(Delivery.campaign_id == campaign_id)) or 0


def mark_materialized(*, session: Session, campaign_id: int) -> int:
    targeted = session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.campaign_id == campaign_id)) or 0
    session.execute(update(Campaign).where(Campaign.id == campaign_id)
                    .values(materialized_at=utcnow(), targeted=targeted))
    session.flush()
    return targeted


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    follower_id: int
    openid: str
    client_msg_id: str
    attempts: int


def claim(*, session: Session, campaign_id: int, limit: int, token: str, now: datetime) -> list[Claimed]:
    """Take up to `limit` due pending rows of the campaign, lowest ids first."""
    due = (select(Delivery.id)
           .where(Delivery.campaign_id == campaign_id, Delivery.status == D.pending,
                  (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= now))
           .order_by(Delivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (update(_t).where(_t.c.id.in_(due.scalar_subquery()), _t.c.status == D.pending)
            .values(status=D.claimed, claimed_at=now, claimed_by=token, attempts=_t.c.attempts + 1)
            .returning(_t.c.id, _t.c.follower_id, _t.c.openid, _t.c.client_msg_id, _t.c.attempts))
    rows = session.execute(stmt).all()
    session.flush()
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


def renew(*, session: Session, campaign_id: int, token: str, now: datetime) -> None:
    session.execute(update(_t).where(_t.c.campaign_id == campaign_id, _t.c.status == D.claimed,
                                     _t.c.claimed_by == token).values(claimed_at=now))


def release(*, session: Session, campaign_id: int, token: str, ids: list[int]) -> None:
    """Give back claimed rows that were never sent (pause, stop, quiet hours)."""
    if ids:
        session.execute(update(_t).where(_t.c.campaign_id == campaign_id, _t.c.status == D.claimed,
                                         _t.c.claimed_by == token, _t.c.id.in_(ids))
                        .values(status=D.pending, claimed_by=None, attempts=_t.c.attempts - 1))


def reset_stale(*, session: Session, campaign_id: int, lease: timedelta, now: datetime) -> int:
    """Claims whose holder stopped renewing (a killed worker) go back to pending, to be sent again."""
    return session.execute(update(_t).where(
        _t.c.campaign_id == campaign_id, _t.c.status == D.claimed, _t.c.claimed_at < now - lease)
        .values(status=D.pending, claimed_by=None)).rowcount


@dataclass(slots=True)
class Outcome:
    id: int
    status: DeliveryStatus
    reason: str | None = None
    errcode: int | None = None
    msgid: int | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None

    def row(self, token: str) -> dict:
        return {"b_id": self.id, "b_token": token, "b_status": self.status.value, "b_reason": self.reason,
                "b_errcode": self.errcode, "b_msgid": self.msgid, "b_sent_at": self.sent_at,
                "b_next": self.next_attempt_at}


_RECORD = (update(_t).where(_t.c.id == bindparam("b_id"), _t.c.status == D.claimed,
                            _t.c.claimed_by == bindparam("b_token"))
           .values(status=bindparam("b_status"), reason=bindparam("b_reason"), errcode=bindparam("b_errcode"),
                   msgid=bindparam("b_msgid"), sent_at=bindparam("b_sent_at"),
                   next_attempt_at=bindparam("b_next"), claimed_by=None))


def record(*, session: Session, token: str, outcomes: list[Outcome]) -> None:
    """Write each outcome on the row this run still holds (one executemany)."""
    if outcomes:
        session.execute(_RECORD, [o.row(token) for o in outcomes])


@dataclass(frozen=True, slots=True)
class FollowerNow:
    state: str
    muted: bool
    muted_until: datetime | None


def followers_now(*, session: Session, ids: list[int]) -> dict[int, FollowerNow]:
    """Followers' state at send time: they may have unfollowed or muted since launch."""
    rows = session.execute(select(Follower.id, Follower.state, Follower.muted, Follower.muted_until)
                           .where(Follower.id.in_(ids))).all()
    return {r[0]: FollowerNow(str(r[1]), bool(r[2]), r[3]) for r in rows}


def due_in(*, session: Session, campaign_id: int, now: datetime) -> float | None:
    """Seconds until the earliest pending row may be tried: 0 if one may now, None if none is pending."""
    pending = (Delivery.campaign_id == campaign_id, Delivery.status == D.pending)
    if session.scalar(select(Delivery.id).where(*pending, Delivery.next_attempt_at.is_(None)).limit(1)):
        return 0.0
    earliest = session.scalar(select(func.min(Delivery.next_attempt_at)).where(*pending))
    return None if earliest is None else max(0.0, (earliest - now).total_seconds())


def open_rows(*, session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.status.in_((D.pending, D.claimed)))
        .group_by(Delivery.status)).all()
    return {str(s): n for s, n in rows}
