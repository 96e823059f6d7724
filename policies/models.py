"""The policy library: policies, their interpretations, every revision of either, and the FAQ."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, ForeignKey, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from staff.models import StaffUser  # noqa: F401 - its table is referenced below
from subscriptions.models import EnterpriseTag, Park, Topic


class PolicyStatus(enum.StrEnum):
    pending = "pending"  # issued, not yet effective (follows the dates)
    in_force = "in_force"  # follows the dates
    expired = "expired"  # past its expiry date (follows the dates)
    revised = "revised"  # replaced by `superseded_by` (set by staff)
    repealed = "repealed"  # withdrawn (set by staff)


STATUS_LABELS = {
    PolicyStatus.pending: "尚未施行",
    PolicyStatus.in_force: "现行有效",
    PolicyStatus.expired: "已失效",
    PolicyStatus.revised: "已修订",
    PolicyStatus.repealed: "已废止",
}
# Statuses the dates decide; the other two are set by staff and stay until staff change them.
DATED = frozenset({PolicyStatus.pending, PolicyStatus.in_force, PolicyStatus.expired})

# The eight parts every interpretation states (item 7 of the notice), in the order they are shown.
PARTS: dict[str, str] = {
    "background": "背景依据",
    "goals": "目标任务",
    "main_content": "主要内容",
    "keywords": "关键词",
    "scope": "涉及范围",
    "standards": "执行标准",
    "benefits": "惠民利企举措",
    "changes": "新旧政策差异",
}


def _link(name: str, other: str) -> Table:
    return Table(
        name, Base.metadata,
        Column("policy_id", Integer, ForeignKey("policy.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{other}_id", Integer, ForeignKey(f"{other}.id", ondelete="CASCADE"), primary_key=True),
        Index(f"ix_{name}_{other}_id_policy_id", f"{other}_id", "policy_id"),
    )


policy_topic = _link("policy_topic", "topic")
policy_park = _link("policy_park", "park")
policy_tag = _link("policy_tag", "enterprise_tag")


class Policy(Base):
    """A policy document as issued, with what it targets."""

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_number: Mapped[str | None] = mapped_column(String(100), unique=True)  # 文号
    issuer: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date | None]
    effective_on: Mapped[date | None]  # None: effective from issue
    expires_on: Mapped[date | None]  # last day in force; None: no expiry
    status: Mapped[PolicyStatus] = mapped_column(
        Enum(PolicyStatus, native_enum=False, length=16), default=PolicyStatus.in_force, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)  # GB/T 4754 sections or divisions
    source_url: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    superseded_by: Mapped[Policy | None] = relationship(remote_side=[id])
    interpretation: Mapped[Interpretation | None] = relationship(
        back_populates="policy", cascade="all, delete-orphan", uselist=False)
    topics: Mapped[list[Topic]] = relationship(secondary=policy_topic, order_by=Topic.id)
    parks: Mapped[list[Park]] = relationship(secondary=policy_park, order_by=Park.id)
    tags: Mapped[list[EnterpriseTag]] = relationship(secondary=policy_tag, order_by=EnterpriseTag.id)

    @property
    def in_force(self) -> bool:
        return self.status is PolicyStatus.in_force

    def missing_parts(self) -> list[str]:
        """The interpretation's required parts still empty (all eight when there is none)."""
        return list(PARTS.values()) if self.interpretation is None else self.interpretation.missing_parts()

    @property
    def completeness(self) -> dict[str, Any]:
        missing = self.missing_parts()
        return {"complete": not missing, "missing": missing}


class Interpretation(Base):
    """The interpretation published with a policy (三同步): the eight parts and optional media."""

    __tablename__ = "interpretation"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"), unique=True)
    background: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[str] = mapped_column(Text, default="")
    main_content: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    standards: Mapped[str] = mapped_column(Text, default="")
    benefits: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(1000))  # 图解
    video_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    policy: Mapped[Policy] = relationship(back_populates="interpretation")

    def missing_parts(self) -> list[str]:
        """Names (Chinese) of the required parts that are empty, in order."""
        return [label for field, label in PARTS.items() if not (getattr(self, field) or "").strip()]


class PolicyRevision(Base):
    """One change to a policy or its interpretation: who, when, and each field's old and new value."""

    __tablename__ = "policy_revision"
    __table_args__ = (Index("ix_policy_revision_policy_id_id", "policy_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))  # policy.create, policy.update, interpretation.update, status
    via: Mapped[str] = mapped_column(String(16), default="api")  # api, import, schedule, seed
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> [old, new]


class FaqEntry(Base):
    """A question and its answer in the knowledge base, with the ways people also ask it."""

    __tablename__ = "faq_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # 编号
    category: Mapped[str] = mapped_column(String(100), default="", index=True)  # 类目
    question: Mapped[str] = mapped_column(String(500), index=True)  # 问题
    answer: Mapped[str] = mapped_column(Text)  # 答案
    similar: Mapped[list[str]] = mapped_column(JSON, default=list)  # 相似问法
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)  # 关键词
    issuer: Mapped[str] = mapped_column(String(200), default="")  # 发文单位
    source_url: Mapped[str] = mapped_column(String(1000), default="")  # 来源
    policy_number: Mapped[str | None] = mapped_column(String(100), index=True)  # 相关政策 (文号)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TextEmbedding(Base):
    """A passage's sentence embedding (policies/embeddings.py), by the hash of the model and the text."""

    __tablename__ = "text_embedding"

    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, embeddings.DIMS of them
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
