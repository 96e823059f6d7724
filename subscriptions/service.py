"""The subscriptions domain's functions: followers (the webhook calls the first four on subscribe,
unsubscribe and every message), topics, tags, parks, enterprises, bindings, subscriptions, segments."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from subscriptions import credit_code, reference, segments
from subscriptions.models import (
    Enterprise,
    EnterpriseBinding,
    EnterpriseTag,
    Follower,
    FollowerState,
    Park,
    Segment,
    Subscription,
    Topic,
)
from subscriptions.schemas import (
    ParkCreate,
    ParkUpdate,
    SegmentCreate,
    SegmentUpdate,
    TagCreate,
    TagUpdate,
    TopicCreate,
    TopicUpdate,
)

LAST_SEEN_KEY = "wx:last_seen"  # Redis hash openid -> unix time: the webhook writes, a beat job flushes


def get_by_openid(*, session: Session, openid: str) -> Follower | None:
    return session.scalar(select(Follower).where(Follower.openid == openid))


def follow(*, session: Session, openid: str, at: datetime | None = None,
           qr_scene: str | None = None) -> Follower:
    """Record a follow; an earlier follower's data comes back as it was."""
    at = at or utcnow()
    follower = get_by_openid(session=session, openid=openid)
    if follower is None:
        follower = Follower(openid=openid, followed_at=at)
        session.add(follower)
    elif follower.state is FollowerState.unfollowed:
        follower.followed_at = at
    follower.state = FollowerState.following
    follower.unfollowed_at = None
    follower.last_interaction_at = at
    if qr_scene:
        follower.qr_scene = qr_scene
    session.flush()
    return follower


def unfollow(*, session: Session, openid: str, at: datetime | None = None) -> Follower | None:
    follower = get_by_openid(session=session, openid=openid)
    if follower is not None:
        follower.state = FollowerState.unfollowed
        follower.unfollowed_at = at or utcnow()
        session.flush()
    return follower


def touch(*, session: Session, last_seen: dict[str, datetime]) -> None:
    """Write last-interaction times collected by the webhook; unknown openids become followers."""
    for openid, at in last_seen.items():
        updated = session.execute(
            update(Follower).where(Follower.openid == openid).values(last_interaction_at=at))
        if updated.rowcount == 0:
            session.add(Follower(openid=openid, followed_at=at, last_interaction_at=at))
    session.flush()


# --- reference rows staff edit -----------------------------------------------------------------

def seed_reference_data(*, session: Session) -> dict[str, int]:
    """Fill empty topic and tag tables from data/*.csv; tables staff already use are left alone."""
    added = {"topics": 0, "tags": 0}
    if session.scalar(select(func.count()).select_from(Topic)) == 0:
        for order, row in enumerate(reference.seed_rows("topics.csv"), start=1):
            session.add(Topic(name=row["name"], description=row["description"], sort_order=order))
            added["topics"] += 1
    if session.scalar(select(func.count()).select_from(EnterpriseTag)) == 0:
        for row in reference.seed_rows("enterprise_tags.csv"):
            session.add(EnterpriseTag(name=row["name"], description=row["description"]))
            added["tags"] += 1
    session.flush()
    return added


def list_topics(*, session: Session, active_only: bool = True) -> list[Topic]:
    """Topics in the order the chat numbers them."""
    stmt = select(Topic).order_by(Topic.sort_order, Topic.id)
    if active_only:
        stmt = stmt.where(Topic.active.is_(True))
    return list(session.scalars(stmt))


def create_topic(*, session: Session, topic_in: TopicCreate) -> Topic:
    order = topic_in.sort_order
    if order is None:
        order = (session.scalar(select(func.max(Topic.sort_order))) or 0) + 1
    topic = Topic(name=topic_in.name, description=topic_in.description, sort_order=order)
    session.add(topic)
    session.flush()
    return topic


def update_topic(*, session: Session, topic: Topic, topic_in: TopicUpdate) -> Topic:
    for field, value in topic_in.model_dump(exclude_unset=True).items():
        setattr(topic, field, value)
    session.flush()
    return topic


def list_tags(*, session: Session) -> list[EnterpriseTag]:
    return list(session.scalars(select(EnterpriseTag).order_by(EnterpriseTag.id)))


def create_tag(*, session: Session, tag_in: TagCreate) -> EnterpriseTag:
    tag = EnterpriseTag(name=tag_in.name, description=tag_in.description)
    session.add(tag)
    session.flush()
    return tag


def update_tag(*, session: Session, tag: EnterpriseTag, tag_in: TagUpdate) -> EnterpriseTag:
    for field, value in tag_in.model_dump(exclude_unset=True).items():
        setattr(tag, field, value)
    session.flush()
    return tag


# --- parks -------------------------------------------------------------------------------------

def list_parks(*, session: Session) -> list[Park]:
    return list(session.scalars(select(Park).order_by(Park.name)))


def create_park(*, session: Session, park_in: ParkCreate) -> Park:
    park = Park(name=park_in.name, qr_scene=park_in.qr_scene)
    session.add(park)
    session.flush()
    return park


def update_park(*, session: Session, park: Park, park_in: ParkUpdate) -> Park:
    for field, value in park_in.model_dump(exclude_unset=True).items():
        setattr(park, field, value)
    session.flush()
    return park


def get_park_by_scene(*, session: Session, scene: str) -> Park | None:
    """The park whose QR code carries `scene` (`qrscene_` already stripped)."""
    return session.scalar(select(Park).where(Park.qr_scene == scene))


# --- enterprises and bindings ------------------------------------------------------------------

def get_enterprise_by_credit_code(*, session: Session, code: str) -> Enterprise | None:
    """Look up by a code as typed (normalized first); raises InvalidCreditCode when it is not valid."""
    return session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code.validate(code)))


def create_enterprise(*, session: Session, code: str, name: str, industry_code: str | None = None,
                      park_id: int | None = None, size: str | None = None) -> Enterprise:
    """A new enterprise (e.g. from the chat); raises InvalidCreditCode / ValueError for bad input."""
    enterprise = Enterprise(
        credit_code=credit_code.validate(code), name=name.strip(),
        industry_code=reference.normalize_division(industry_code) if industry_code else None,
        park_id=park_id, size=reference.normalize_size(size) if size else None)
    session.add(enterprise)
    session.flush()
    return enterprise


def bind_enterprise(*, session: Session, follower_id: int, enterprise_id: int) -> bool:
    """Bind a follower to an enterprise; False when they were already bound."""
    if session.get(EnterpriseBinding, (follower_id, enterprise_id)) is not None:
        return False
    session.add(EnterpriseBinding(follower_id=follower_id, enterprise_id=enterprise_id))
    session.flush()
    return True


def unbind_enterprise(*, session: Session, follower_id: int, enterprise_id: int | None = None) -> int:
    """Remove one binding, or all of the follower's when `enterprise_id` is None; returns how many."""
    stmt = delete(EnterpriseBinding).where(EnterpriseBinding.follower_id == follower_id)
    if enterprise_id is not None:
        stmt = stmt.where(EnterpriseBinding.enterprise_id == enterprise_id)
    removed = session.execute(stmt).rowcount
    session.expire_all()
    return removed


def list_bound_enterprises(*, session: Session, follower_id: int) -> list[Enterprise]:
    return list(session.scalars(
        select(Enterprise).join(EnterpriseBinding, EnterpriseBinding.enterprise_id == Enterprise.id)
        .where(EnterpriseBinding.follower_id == follower_id).order_by(Enterprise.id)))


# --- subscriptions and preferences -------------------------------------------------------------

def subscribe(*, session: Session, follower_id: int, topic_ids: Iterable[int]) -> list[int]:
    """Subscribe to topics; returns the ids newly subscribed (already subscribed ones are skipped)."""
    wanted = list(dict.fromkeys(topic_ids))
    have = set(session.scalars(select(Subscription.topic_id).where(Subscription.follower_id == follower_id)))
    new = [t for t in wanted if t not in have]
    session.add_all(Subscription(follower_id=follower_id, topic_id=t) for t in new)
    session.flush()
    return new


def unsubscribe(*, session: Session, follower_id: int, topic_ids: Iterable[int] | None = None) -> int:
    """Drop the given subscriptions, or all of them when `topic_ids` is None; returns how many."""
    stmt = delete(Subscription).where(Subscription.follower_id == follower_id)
    if topic_ids is not None:
        stmt = stmt.where(Subscription.topic_id.in_(list(topic_ids)))
    removed = session.execute(stmt).rowcount
    session.expire_all()
    return removed


def list_subscriptions(*, session: Session, follower_id: int) -> list[Topic]:
    return list(session.scalars(
        select(Topic).join(Subscription, Subscription.topic_id == Topic.id)
        .where(Subscription.follower_id == follower_id).order_by(Topic.sort_order, Topic.id)))


def set_mute(*, session: Session, follower: Follower, muted: bool,
             until: datetime | None = None) -> Follower:
    """Mute all pushes (`muted=True`), or only until a moment (`until`); `muted=False` clears both."""
    follower.muted = muted and until is None
    follower.muted_until = until if muted else None
    session.flush()
    return follower


# --- saved segments ----------------------------------------------------------------------------

def list_segments(*, session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(*, session: Session, segment_id: int) -> Segment | None:
    return session.get(Segment, segment_id)


def create_segment(*, session: Session, segment_in: SegmentCreate) -> Segment:
    """Save a named filter; raises SegmentFilterError when it names unknown parks, topics or tags."""
    f = segments.parse_filter(session=session, filter=segment_in.filter)
    segment = Segment(name=segment_in.name, description=segment_in.description,
                      filter=f.model_dump(exclude_defaults=True))
    session.add(segment)
    session.flush()
    return segment


def update_segment(*, session: Session, segment: Segment, segment_in: SegmentUpdate) -> Segment:
    data = segment_in.model_dump(exclude_unset=True, exclude={"filter"})
    for field, value in data.items():
        setattr(segment, field, value)
    if segment_in.filter is not None:
        segment.filter = segments.parse_filter(
            session=session, filter=segment_in.filter).model_dump(exclude_defaults=True)
    session.flush()
    return segment


def delete_segment(*, session: Session, segment: Segment) -> None:
    session.delete(segment)
    session.flush()
