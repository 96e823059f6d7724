"""Whether a follower really speaks for an enterprise they bound.

Credit codes are public, so anyone can bind any enterprise: a binding is unverified until staff confirm it
(`verify_binding`, which also confirms an enterprise a follower registered in the chat) or the follower
shows they know the enterprise's contact phone on record (its last 4 digits, `check_contact`, a few wrong
answers a day per follower and per enterprise). Segments with `"verified": true` reach verified bindings
of verified enterprises only.
"""
from __future__ import annotations

import enum
import hmac
import re
from typing import NamedTuple

import redis
from sqlalchemy import ColumnElement, and_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from core.db import utcnow
from subscriptions import credit_code
from subscriptions.models import Enterprise, EnterpriseBinding, Follower

CHECK_DIGITS = 4
FOLLOWER_TRIES = 5  # wrong answers a follower may give in a day, whatever the enterprise
ENTERPRISE_TRIES = 10  # wrong answers an enterprise's check may get in a day, all followers together
TRIES_SECONDS = 24 * 3600


class NotBound(LookupError):
    """The follower is not bound to that enterprise."""


class AlreadyVerified(ValueError):
    """The binding (or enterprise) is verified already."""


class Check(enum.StrEnum):
    verified = "verified"
    wrong = "wrong"
    throttled = "throttled"
    no_contact = "no_contact"  # nothing on record to check against: staff verify


class CheckResult(NamedTuple):
    outcome: Check
    tries_left: int = 0


def verified_clause() -> ColumnElement[bool]:
    """A verified binding of a verified enterprise (the query joins both)."""
    return and_(EnterpriseBinding.verified_at.is_not(None), Enterprise.verified_at.is_not(None))


def contact_digits(enterprise: Enterprise) -> str | None:
    """The last digits of the contact phone on record, when there are enough to check."""
    digits = re.sub(r"\D", "", enterprise.contact_phone or "")
    return digits[-CHECK_DIGITS:] if len(digits) >= CHECK_DIGITS else None


def _binding(session: Session, follower_id: int, enterprise_id: int) -> EnterpriseBinding:
    binding = session.get(EnterpriseBinding, (follower_id, enterprise_id))
    if binding is None:
        raise NotBound(f"follower {follower_id} is not bound to enterprise {enterprise_id}")
    return binding


def verify_binding(*, session: Session, follower_id: int, enterprise_id: int, by: str) -> EnterpriseBinding:
    """Mark the binding verified (`by`: `staff:<username>` or `contact`); staff also confirm an enterprise
    a follower registered."""
    binding = _binding(session, follower_id, enterprise_id)
    if binding.verified_at is not None:
        raise AlreadyVerified(f"the binding was verified at {binding.verified_at.isoformat(timespec='minutes')} "
                              f"by {binding.verified_by} / 该绑定已核验")
    now = utcnow()
    binding.verified_at, binding.verified_by = now, by
    enterprise = session.get(Enterprise, enterprise_id)
    if by.startswith("staff:") and enterprise.verified_at is None:
        enterprise.verified_at = now
    session.flush()
    return binding


def verify_enterprise(*, session: Session, enterprise: Enterprise) -> Enterprise:
    """Staff confirm that an enterprise a follower registered exists under that name and code."""
    if enterprise.verified_at is not None:
        raise AlreadyVerified("the enterprise is verified already / 该企业已核验")
    enterprise.verified_at = utcnow()
    session.flush()
    return enterprise


def check_contact(*, session: Session, redis_client: redis.Redis, follower_id: int, enterprise_id: int,
                  answer: str) -> CheckResult:
    """The follower's answer to "the contact phone's last 4 digits"; wrong answers are counted for a day."""
    binding = _binding(session, follower_id, enterprise_id)
    if binding.verified_at is not None:
        return CheckResult(Check.verified)
    expected = contact_digits(session.get(Enterprise, enterprise_id))
    if expected is None:
        return CheckResult(Check.no_contact)
    keys = (f"bind:check:follower:{follower_id}", f"bind:check:enterprise:{enterprise_id}")
    by_follower, by_enterprise = (int(n or 0) for n in redis_client.mget(keys))
    left = min(FOLLOWER_TRIES - by_follower, ENTERPRISE_TRIES - by_enterprise)
    if left <= 0:
        return CheckResult(Check.throttled)
    given = re.sub(r"\D", "", answer.translate(_FULL_WIDTH_DIGITS))
    if hmac.compare_digest(given, expected):
        verify_binding(session=session, follower_id=follower_id, enterprise_id=enterprise_id, by="contact")
        return CheckResult(Check.verified)
    with redis_client.pipeline() as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, TRIES_SECONDS, nx=True)
        pipe.execute()
    return CheckResult(Check.wrong, left - 1)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


class QueueRow(NamedTuple):
    binding: EnterpriseBinding
    enterprise: Enterprise
    follower: Follower


def list_bindings(*, session: Session, verified: bool | None = False, enterprise_id: int | None = None,
                  park_id: int | None = None, q: str | None = None, self_registered: bool | None = None,
                  after: tuple[int, int] = (0, 0), limit: int = 50) -> list[QueueRow]:
    """A page of bindings by (enterprise id, follower id) after `after` (keyset paging): the unverified
    ones by default (`verified=None` for all). `self_registered` keeps those whose enterprise a follower
    registered and staff have not confirmed (or, False, the others); `q` is part of the name or a whole
    credit code."""
    stmt = (select(EnterpriseBinding, Enterprise, Follower)
            .join(Enterprise, Enterprise.id == EnterpriseBinding.enterprise_id)
            .join(Follower, Follower.id == EnterpriseBinding.follower_id)
            .options(joinedload(Enterprise.park))
            .where(tuple_(EnterpriseBinding.enterprise_id, EnterpriseBinding.follower_id) > tuple_(*after))
            .order_by(EnterpriseBinding.enterprise_id, EnterpriseBinding.follower_id).limit(limit))
    if verified is not None:
        stmt = stmt.where(verified_clause() if verified else ~verified_clause())
    if enterprise_id is not None:
        stmt = stmt.where(EnterpriseBinding.enterprise_id == enterprise_id)
    if park_id is not None:
        stmt = stmt.where(Enterprise.park_id == park_id)
    if self_registered is not None:
        stmt = stmt.where(Enterprise.verified_at.is_(None) if self_registered else Enterprise.verified_at.is_not(None))
    if q and q.strip():
        q = q.strip()
        stmt = stmt.where(Enterprise.name.contains(q, autoescape=True)
                          | (Enterprise.credit_code == credit_code.normalize(q)))
    return [QueueRow(*row) for row in session.execute(stmt).unique().all()]


def unverified_for(*, session: Session, follower_id: int) -> list[Enterprise]:
    """The follower's enterprises whose binding is not verified yet, by id."""
    return list(session.scalars(
        select(Enterprise).join(EnterpriseBinding, EnterpriseBinding.enterprise_id == Enterprise.id)
        .where(EnterpriseBinding.follower_id == follower_id, EnterpriseBinding.verified_at.is_(None))
        .order_by(Enterprise.id)))
