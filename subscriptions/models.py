"""Who follows the account, which enterprises they speak for, and what they want to receive."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Enum, ForeignKey, Index, Integer, String, Table, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.masking import mask_credit_code, mask_name, mask_phone
from subscriptions.reference import size_classes


class FollowerState(enum.StrEnum):
    following = "following"
    unfollowed = "unfollowed"


class Follower(Base):
    """One WeChat user of the account, kept after they unfollow so that following again restores them."""

    __tablename__ = "follower"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[FollowerState] = mapped_column(
        Enum(FollowerState, native_enum=False, length=16), default=FollowerState.following)
    followed_at: Mapped[datetime] = mapped_column(default=utcnow)
    unfollowed_at: Mapped[datetime | None]
    last_interaction_at: Mapped[datetime | None]
    qr_scene: Mapped[str | None] = mapped_column(String(64))
    # the park whose QR code they scanned last (subscribe with qrscene_<scene>, or SCAN)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"), index=True)
    # preferences: "mute all" stops every push; muted_until stops them until that moment
    muted: Mapped[bool] = mapped_column(default=False, server_default=false())
    muted_until: Mapped[datetime | None]

    __table_args__ = (
        # the followers a push may reach, in id order: segment counts and recipient windows probe it
        Index("ix_follower_reachable", "id", "muted_until",
              postgresql_where=text("state = 'following' AND NOT muted"),
              sqlite_where=text("state = 'following' AND NOT muted")),
    )

    park: Mapped[Park | None] = relationship()
    enterprises: Mapped[list[Enterprise]] = relationship(
        secondary="enterprise_binding", viewonly=True, order_by="Enterprise.id")
    topics: Mapped[list[Topic]] = relationship(
        secondary="subscription", viewonly=True, order_by="Topic.sort_order, Topic.id")


class Park(Base):
    """An industrial park; its own QR code (scene) records the park of whoever scans it."""

    __tablename__ = "park"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    qr_scene: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the permanent QR code (QR_LIMIT_STR_SCENE) WeChat made for qr_scene; cleared when the scene changes
    qr_ticket: Mapped[str | None] = mapped_column(String(255))
    qr_url: Mapped[str | None] = mapped_column(String(255))
    qr_created_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(Base):
    """A policy topic followers subscribe to; seeded from data/topics.csv, then edited by staff."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(default=0)  # the number shown in the chat's topic list
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnterpriseTag(Base):
    """A label such as 专精特新; seeded from data/enterprise_tags.csv, then edited by staff."""

    __tablename__ = "enterprise_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())  # inactive: not for new rows
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


enterprise_tag_link = Table(
    "enterprise_tag_link",
    Base.metadata,
    Column("enterprise_id", Integer, ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("enterprise_tag.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_enterprise_tag_link_tag_id_enterprise_id", "tag_id", "enterprise_id"),
)

_SIZES = ", ".join(f"'{code}'" for code in size_classes())


class Enterprise(Base):
    """An enterprise identified by its 统一社会信用代码; contact details are personal data."""

    __tablename__ = "enterprise"
    __table_args__ = (
        CheckConstraint(f"size IN ({_SIZES})", name="size"),
        # segment filters on industry, park and size answer from this index alone (index-only scans)
        Index("ix_enterprise_segment", "industry_code", "park_id", "size", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry_code: Mapped[str | None] = mapped_column(String(2))  # GB/T 4754 division
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"), index=True)
    size: Mapped[str | None] = mapped_column(String(2))  # 大/中/小/微
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    # staff's own rows (API, import) are verified when made; one a follower registered in the chat is not
    # until staff confirm it (subscriptions.verification)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    park: Mapped[Park | None] = relationship()
    tags: Mapped[list[EnterpriseTag]] = relationship(
        secondary=enterprise_tag_link, order_by=EnterpriseTag.id)

    def __repr__(self) -> str:  # safe for logs: no contact or full credit code
        return (f"Enterprise(id={self.id}, credit_code={mask_credit_code(self.credit_code)!r}, "
                f"contact={mask_name(self.contact_name)!r}/{mask_phone(self.contact_phone)!r})")


class EnterpriseBinding(Base):
    """A follower speaks for an enterprise; a follower may bind several, an enterprise have several."""

    __tablename__ = "enterprise_binding"
    __table_args__ = (
        Index("ix_enterprise_binding_enterprise_id_follower_id", "enterprise_id", "follower_id"),
    )

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("follower.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True)
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    # anyone who knows a (public) credit code can bind: unverified until staff or the contact on record
    # confirm it; verified_by is `staff:<username>` or `contact` (the contact phone's last digits)
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(String(80))


class Subscription(Base):
    """A follower wants pushes on a topic."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_topic_id_follower_id", "topic_id", "follower_id"),)

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("follower.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Segment(Base):
    """A saved audience: a named segment filter (see segments.SegmentFilter)."""

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WeChatTag(Base):
    """A WeChat user tag mirroring a park or an industry section (so a mass send by tag is possible).

    A row whose park was deleted (both keys NULL) is an orphan: the next sync deletes its WeChat tag.
    """

    __tablename__ = "wechat_tag"
    __table_args__ = (CheckConstraint("park_id IS NULL OR section IS NULL", name="one_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(unique=True)  # WeChat's id
    name: Mapped[str] = mapped_column(String(30))  # as created at WeChat (30 bytes at most)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"), unique=True)
    section: Mapped[str | None] = mapped_column(String(1), unique=True)  # GB/T 4754 门类 A-T
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime | None]


class WeChatTagMember(Base):
    """A follower WeChat has under a tag, as far as the last sync knows (tagged, not yet untagged)."""

    __tablename__ = "wechat_tag_member"
    __table_args__ = (Index("ix_wechat_tag_member_follower_id", "follower_id"),)

    wechat_tag_id: Mapped[int] = mapped_column(
        ForeignKey("wechat_tag.id", ondelete="CASCADE"), primary_key=True)
    follower_id: Mapped[int] = mapped_column(
        ForeignKey("follower.id", ondelete="CASCADE"), primary_key=True)
