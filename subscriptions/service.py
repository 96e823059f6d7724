"""The subscriptions domain's functions: followers (the webhook calls the first four on subscribe,
unsubscribe and every message), topics, tags, parks, enterprises, bindings, subscriptions, segments."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

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
    WeChatTag,
    WeChatTagMember,
    enterprise_tag_link,
)
from subscriptions.schemas import (
    EnterpriseCreate,
    SegmentFilter,
    EnterpriseUpdate,
    ParkCreate,
    ParkUpdate,
    SegmentCreate,
    SegmentUpdate,
    TagCreate,
    TagUpdate,
    TopicCreate,
    TopicUpdate,
)

class Conflict(ValueError):
    """A name or code that must be unique is taken."""


class InvalidReference(ValueError):
    """A request names a park, tag or topic that does not exist."""


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
        park = get_park_by_scene(session=session, scene=qr_scene)
        if park is not None:  # a park's own code: the follower belongs to it (the latest scan wins)
            follower.park_id = park.id
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


def get_topic(*, session: Session, topic_id: int) -> Topic | None:
    return session.get(Topic, topic_id)


def list_tags(*, session: Session, active_only: bool = False) -> list[EnterpriseTag]:
    stmt = select(EnterpriseTag).order_by(EnterpriseTag.id)
    if active_only:
        stmt = stmt.where(EnterpriseTag.active.is_(True))
    return list(session.scalars(stmt))


def get_tag(*, session: Session, tag_id: int) -> EnterpriseTag | None:
    return session.get(EnterpriseTag, tag_id)


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


def get_park(*, session: Session, park_id: int) -> Park | None:
    return session.get(Park, park_id)


def update_park(*, session: Session, park: Park, park_in: ParkUpdate) -> Park:
    data = park_in.model_dump(exclude_unset=True)
    if "qr_scene" in data and data["qr_scene"] != park.qr_scene:  # the old code no longer names this park
        park.qr_ticket = park.qr_url = park.qr_created_at = None
    for field, value in data.items():
        setattr(park, field, value)
    session.flush()
    return park


def delete_park(*, session: Session, park: Park) -> None:
    """Enterprises and followers of the park keep their data with no park; its WeChat tag row becomes
    an orphan that the next tag sync deletes."""
    session.delete(park)
    session.flush()
    session.expire_all()


def park_scene(*, session: Session, park: Park) -> str:
    """The park's QR scene, given one (`park-<id>`) when it has none; Conflict when another park was
    given that scene by hand."""
    if not park.qr_scene:
        scene = f"park-{park.id}"
        if _taken(session, Park.qr_scene, scene, park.id):
            raise Conflict(f"二维码场景“{scene}”已被其他园区使用，请先为本园区设置场景值")
        park.qr_scene = scene
        session.flush()
    return park.qr_scene


def record_park_qrcode(*, session: Session, park: Park, ticket: str, url: str) -> Park:
    park.qr_ticket, park.qr_url, park.qr_created_at = ticket, url, utcnow()
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
                      park_id: int | None = None, size: str | None = None,
                      self_registered: bool = False) -> Enterprise:
    """A new enterprise; `self_registered` (a follower registered it in the chat) leaves it unverified.
    Raises InvalidCreditCode / ValueError for bad input."""
    enterprise = Enterprise(
        credit_code=credit_code.validate(code), name=name.strip(),
        industry_code=reference.normalize_division(industry_code) if industry_code else None,
        park_id=park_id, size=reference.normalize_size(size) if size else None,
        verified_at=None if self_registered else utcnow())
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


def _taken(session: Session, column, value: object, exclude_id: int | None = None) -> bool:
    stmt = select(column.class_.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(column.class_.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


def check_unique(*, session: Session, column, value: object, exclude_id: int | None = None) -> None:
    """Raise Conflict when another row already holds `value` in the unique `column`."""
    if value is not None and _taken(session, column, value, exclude_id):
        raise Conflict(f"{column.key} {value!r} is taken")


# --- enterprises for staff ---------------------------------------------------------------------

def get_enterprise(*, session: Session, enterprise_id: int) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id)


def list_enterprises(*, session: Session, q: str | None = None, industry: str | None = None,
                     park_id: int | None = None, size: str | None = None, tag_id: int | None = None,
                     bound: bool | None = None, after_id: int = 0, limit: int = 50) -> list[Enterprise]:
    """A page of enterprises by ascending id after `after_id` (keyset paging). `q` matches any part of
    the name or the whole credit code; `industry` is a section letter or a division; `bound` keeps those
    some follower is bound to (False: none is). Raises KeyError/ValueError for an unknown industry or size.

    On PostgreSQL a name part of three characters or more is found through the name's trigram index
    (migration 0014) when few names hold it; a shorter one, which has no trigram, reads the table."""
    stmt = (select(Enterprise).options(selectinload(Enterprise.tags), selectinload(Enterprise.park))
            .where(Enterprise.id > after_id).order_by(Enterprise.id).limit(limit))
    if q:
        q = q.strip()
        code = credit_code.normalize(q)
        stmt = stmt.where((Enterprise.name.contains(q, autoescape=True)) | (Enterprise.credit_code == code))
    if industry:
        stmt = stmt.where(Enterprise.industry_code.in_(reference.expand_industry(industry)))
    if park_id is not None:
        stmt = stmt.where(Enterprise.park_id == park_id)
    if size:
        stmt = stmt.where(Enterprise.size == reference.normalize_size(size))
    if tag_id is not None:
        stmt = stmt.where(select(enterprise_tag_link.c.enterprise_id).where(
            enterprise_tag_link.c.enterprise_id == Enterprise.id, enterprise_tag_link.c.tag_id == tag_id).exists())
    if bound is not None:
        has_binding = select(EnterpriseBinding.follower_id).where(
            EnterpriseBinding.enterprise_id == Enterprise.id).exists()
        stmt = stmt.where(has_binding if bound else ~has_binding)
    return list(session.scalars(stmt))


def _references(session: Session, park_id: int | None, tag_ids: list[int] | None) -> list[EnterpriseTag]:
    if park_id is not None and session.get(Park, park_id) is None:
        raise InvalidReference(f"park {park_id} does not exist")
    if tag_ids is None:
        return []
    tags = list(session.scalars(select(EnterpriseTag).where(EnterpriseTag.id.in_(tag_ids))))
    if missing := sorted(set(tag_ids) - {t.id for t in tags}):
        raise InvalidReference(f"tags {missing} do not exist")
    if inactive := sorted(t.id for t in tags if not t.active):
        raise InvalidReference(f"tags {inactive} are deactivated")
    return sorted(tags, key=lambda t: t.id)


def add_enterprise(*, session: Session, enterprise_in: EnterpriseCreate) -> Enterprise:
    """Create an enterprise from staff input (already validated by the schema)."""
    check_unique(session=session, column=Enterprise.credit_code, value=enterprise_in.credit_code)
    tags = _references(session, enterprise_in.park_id, enterprise_in.tag_ids)
    enterprise = Enterprise(**enterprise_in.model_dump(exclude={"tag_ids"}), tags=tags, verified_at=utcnow())
    session.add(enterprise)
    session.flush()
    return enterprise


def update_enterprise(*, session: Session, enterprise: Enterprise, enterprise_in: EnterpriseUpdate) -> Enterprise:
    data = enterprise_in.model_dump(exclude_unset=True)
    tag_ids = data.pop("tag_ids", None)
    tags = _references(session, data.get("park_id"), tag_ids)
    for field, value in data.items():
        setattr(enterprise, field, value)
    if tag_ids is not None:
        enterprise.tags = tags
    session.flush()
    return enterprise


def delete_enterprise(*, session: Session, enterprise: Enterprise) -> None:
    """Followers bound to it lose the binding (cascade)."""
    session.delete(enterprise)
    session.flush()


# --- followers for staff -----------------------------------------------------------------------

def list_followers(*, session: Session, state: FollowerState | None = None, park_id: int | None = None,
                   after_id: int = 0, limit: int = 50) -> list[tuple[Follower, int]]:
    """A page of followers by ascending id, each with the number of enterprises they are bound to."""
    bound = (select(func.count()).select_from(EnterpriseBinding)
             .where(EnterpriseBinding.follower_id == Follower.id).scalar_subquery())
    stmt = (select(Follower, bound).options(selectinload(Follower.park))
            .where(Follower.id > after_id).order_by(Follower.id).limit(limit))
    if state is not None:
        stmt = stmt.where(Follower.state == state)
    if park_id is not None:
        stmt = stmt.where(Follower.park_id == park_id)
    return [(f, n) for f, n in session.execute(stmt)]


def get_follower(*, session: Session, follower_id: int) -> Follower | None:
    return session.get(Follower, follower_id)


# --- the WeChat tag mirror (the WeChat calls are in tags.py) -----------------------------------

MAX_USER_TAGS = 20  # WeChat: a user has at most 20 tags


def list_wechat_tags(*, session: Session) -> list[WeChatTag]:
    return list(session.scalars(select(WeChatTag).order_by(WeChatTag.id)))


def wechat_tag_member_counts(*, session: Session) -> dict[int, int]:
    return dict(session.execute(select(WeChatTagMember.wechat_tag_id, func.count())
                                .group_by(WeChatTagMember.wechat_tag_id)).all())


def add_wechat_tag(*, session: Session, tag_id: int, name: str, park_id: int | None = None,
                   section: str | None = None) -> WeChatTag:
    row = WeChatTag(tag_id=tag_id, name=name, park_id=park_id, section=section)
    session.add(row)
    session.flush()
    return row


def drop_wechat_tag(*, session: Session, row: WeChatTag) -> None:
    """Forget a tag and what we know of its members (after WeChat deleted it, or lost it)."""
    session.execute(delete(WeChatTagMember).where(WeChatTagMember.wechat_tag_id == row.id))
    session.delete(row)
    session.flush()


def tag_filter(*, park_id: int | None = None, section: str | None = None) -> SegmentFilter:
    """The segment a park or section tag mirrors (a park: its enterprises' followers and whoever
    scanned its QR code; a section: followers bound to an enterprise in one of its divisions)."""
    return SegmentFilter(parks=[park_id]) if park_id is not None else SegmentFilter(industries=[section])


def tag_audience(*, session: Session, flt: SegmentFilter, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Follower)
                          .where(segments.follower_clause(flt, now))) or 0


def _recorded(row_id: int):
    return select(WeChatTagMember.follower_id).where(
        WeChatTagMember.wechat_tag_id == row_id, WeChatTagMember.follower_id == Follower.id).exists()


def tag_additions(*, session: Session, row: WeChatTag, now: datetime, after_id: int = 0,
                  limit: int = 1000) -> list[tuple[int, str]]:
    """(follower id, openid) of reachable followers the tag should have and does not, by id after
    `after_id`, leaving out followers who already have MAX_USER_TAGS of our tags."""
    flt = tag_filter(park_id=row.park_id, section=row.section)
    ours = (select(func.count()).select_from(WeChatTagMember)
            .where(WeChatTagMember.follower_id == Follower.id).scalar_subquery())
    return [(i, o) for i, o in session.execute(
        select(Follower.id, Follower.openid)
        .where(Follower.id > after_id, segments.follower_clause(flt, now), ~_recorded(row.id),
               ours < MAX_USER_TAGS)
        .order_by(Follower.id).limit(limit))]


def tag_removals(*, session: Session, row: WeChatTag, now: datetime, after_id: int = 0,
                 limit: int = 1000) -> list[tuple[int, str, bool]]:
    """(follower id, openid, still following) of the tag's members who no longer belong: they left
    the park or section, unfollowed, or muted pushes."""
    flt = tag_filter(park_id=row.park_id, section=row.section)
    return [(i, o, st is FollowerState.following) for i, o, st in session.execute(
        select(Follower.id, Follower.openid, Follower.state)
        .join(WeChatTagMember, WeChatTagMember.follower_id == Follower.id)
        .where(WeChatTagMember.wechat_tag_id == row.id, Follower.id > after_id,
               ~segments.follower_clause(flt, now))
        .order_by(Follower.id).limit(limit))]


def record_tag_members(*, session: Session, row: WeChatTag, follower_ids: Iterable[int]) -> None:
    session.add_all(WeChatTagMember(wechat_tag_id=row.id, follower_id=f) for f in follower_ids)
    session.flush()


def drop_tag_members(*, session: Session, row: WeChatTag, follower_ids: Iterable[int]) -> None:
    session.execute(delete(WeChatTagMember).where(WeChatTagMember.wechat_tag_id == row.id,
                                                  WeChatTagMember.follower_id.in_(list(follower_ids))))
    session.flush()
