"""Who a push reaches: segment filters, their preview and the recipient stream.

Semantics (documented for staff in the API):
- Enterprise keys (`industries`, `parks`, `tags`, `sizes`) select enterprises: OR within a key, AND
  across keys. An `exclude` key drops an enterprise that matches any of its values.
- A follower is reachable when following, not muted and past `muted_until`. When the filter has any
  enterprise key (included or excluded), the follower must also be bound to at least one matching
  enterprise; without enterprise keys the filter addresses followers alone (e.g. all subscribers of a
  topic, bound or not).
- A follower's own park (from scanning the park's QR code) counts as an enterprise of that park about
  which nothing else is known: a filter whose included enterprise keys are `parks` alone reaches the
  follower, bound to an enterprise or not (unless `exclude.parks` names that park). A filter that also
  asks for industries, tags or sizes needs a bound enterprise that has them: a scan says nothing of those.
- `topics`: the follower subscribes to at least one of them; `exclude.topics`: to none of them.
- `verified: true`: followers are reached only through verified bindings of verified enterprises
  (`subscriptions.verification`), so a park scan alone no longer counts and a filter without enterprise
  keys needs one such binding; the enterprise count holds verified enterprises only.
- Each follower counts and is streamed once, however many matching enterprises they are bound to.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from core.db import utcnow
from core.masking import mask_credit_code
from subscriptions import reference
from subscriptions.models import (
    Enterprise,
    EnterpriseBinding,
    EnterpriseTag,
    Follower,
    FollowerState,
    Park,
    Subscription,
    Topic,
    enterprise_tag_link,
)
from subscriptions.schemas import EnterpriseBrief, PreviewResult, SegmentCriteria, SegmentFilter


class SegmentFilterError(ValueError):
    """A filter that cannot be used; `errors` lists every problem, each a readable sentence."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Recipient(NamedTuple):
    follower_id: int
    openid: str


def parse_filter(*, session: Session, filter: SegmentFilter | Mapping[str, Any]) -> SegmentFilter:
    """Validate a filter: known keys, known industry codes and sizes, existing park/topic/tag ids."""
    if not isinstance(filter, SegmentFilter):
        try:
            filter = SegmentFilter.model_validate(filter)
        except ValidationError as exc:
            raise SegmentFilterError([
                f"{'.'.join(str(p) for p in err['loc']) or 'filter'}: "
                + ("unknown key / 未知的键" if err["type"] == "extra_forbidden" else err["msg"])
                for err in exc.errors()]) from None
    errors: list[str] = []
    for model, key in ((Park, "parks"), (Topic, "topics"), (EnterpriseTag, "tags")):
        for side, criteria in (("", filter), ("exclude.", filter.exclude)):
            wanted = set(getattr(criteria, key))
            if wanted:
                found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))
                if missing := sorted(wanted - found):
                    errors.append(f"{side}{key}: unknown id(s) {missing} / 不存在的编号")
    if errors:
        raise SegmentFilterError(errors)
    return filter


def _divisions(codes: list[str]) -> list[str]:
    return sorted({d for code in codes for d in reference.expand_industry(code)})


def _includes(c: SegmentCriteria) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if c.industries:
        clauses.append(Enterprise.industry_code.in_(_divisions(c.industries)))
    if c.parks:
        clauses.append(Enterprise.park_id.in_(c.parks))
    if c.sizes:
        clauses.append(Enterprise.size.in_(c.sizes))
    if c.tags:
        clauses.append(select(enterprise_tag_link.c.enterprise_id).where(
            enterprise_tag_link.c.enterprise_id == Enterprise.id,
            enterprise_tag_link.c.tag_id.in_(c.tags)).exists())
    return clauses


def enterprise_clause(f: SegmentFilter) -> ColumnElement[bool]:
    """The predicate on `enterprise` for the filter's enterprise keys (true when there are none)."""
    clauses = _includes(f)
    # an excluded value drops the enterprise; NULL columns match no excluded value
    if f.verified:
        clauses.append(Enterprise.verified_at.is_not(None))
    ex = f.exclude
    if ex.industries:
        clauses.append(or_(Enterprise.industry_code.is_(None),
                           Enterprise.industry_code.not_in(_divisions(ex.industries))))
    if ex.parks:
        clauses.append(or_(Enterprise.park_id.is_(None), Enterprise.park_id.not_in(ex.parks)))
    if ex.sizes:
        clauses.append(or_(Enterprise.size.is_(None), Enterprise.size.not_in(ex.sizes)))
    if ex.tags:
        clauses.append(not_(select(enterprise_tag_link.c.enterprise_id).where(
            enterprise_tag_link.c.enterprise_id == Enterprise.id,
            enterprise_tag_link.c.tag_id.in_(ex.tags)).exists()))
    return and_(true(), *clauses)


def reachable_clause(now: datetime) -> ColumnElement[bool]:
    """Followers a push may reach at `now`: following and not muted."""
    return and_(Follower.state == FollowerState.following,
                Follower.muted == false(),
                or_(Follower.muted_until.is_(None), Follower.muted_until <= now))


def follower_clause(f: SegmentFilter, now: datetime,
                    id_range: tuple[int, int] | None = None) -> ColumnElement[bool]:
    """The predicate on `follower` for reachable followers in the segment.

    `id_range` (lo, hi] restricts followers to a window of ids, repeated on the binding and
    subscription tables so that the database range-scans their primary keys instead of reading them whole.
    """

    def window(column) -> list[ColumnElement[bool]]:
        return [column > id_range[0], column <= id_range[1]] if id_range else []

    clauses = [reachable_clause(now), *window(Follower.id)]
    if f.enterprise_keys() or f.exclude.enterprise_keys() or f.verified:
        bound = (select(EnterpriseBinding.enterprise_id)
                 .join(Enterprise, Enterprise.id == EnterpriseBinding.enterprise_id)
                 .where(EnterpriseBinding.follower_id == Follower.id, *window(EnterpriseBinding.follower_id),
                        enterprise_clause(f),
                        *([EnterpriseBinding.verified_at.is_not(None)] if f.verified else []))
                 .exists())
        if f.parks and not (f.industries or f.tags or f.sizes or f.verified):
            own_park = [Follower.park_id.is_not(None), Follower.park_id.in_(f.parks)]  # never NULL
            if f.exclude.parks:
                own_park.append(Follower.park_id.not_in(f.exclude.parks))
            clauses.append(or_(and_(*own_park), bound))
        else:
            clauses.append(bound)
    if f.topics:
        clauses.append(select(Subscription.topic_id).where(
            Subscription.follower_id == Follower.id, *window(Subscription.follower_id),
            Subscription.topic_id.in_(f.topics)).exists())
    if f.exclude.topics:
        clauses.append(not_(select(Subscription.topic_id).where(
            Subscription.follower_id == Follower.id, *window(Subscription.follower_id),
            Subscription.topic_id.in_(f.exclude.topics)).exists()))
    return and_(*clauses)


def preview(*, session: Session, filter: SegmentFilter | Mapping[str, Any], sample_size: int = 10,
            now: datetime | None = None) -> PreviewResult:
    """Counts of matching enterprises and reachable followers, and a few matching enterprises."""
    f = parse_filter(session=session, filter=filter)
    now = now or utcnow()
    ent = enterprise_clause(f)
    enterprises = session.scalar(select(func.count()).select_from(Enterprise).where(ent)) or 0
    followers = session.scalar(
        select(func.count()).select_from(Follower).where(follower_clause(f, now))) or 0
    rows = session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.industry_code,
               Park.name, Enterprise.size)
        .outerjoin(Park, Park.id == Enterprise.park_id)
        .where(ent).order_by(Enterprise.id).limit(sample_size)).all()
    sample = [EnterpriseBrief(
        id=r[0], name=r[1], credit_code_masked=mask_credit_code(r[2]), industry_code=r[3],
        industry_name=reference.industry_label(r[3]), park=r[4], size=r[5]) for r in rows]
    return PreviewResult(enterprises=enterprises, followers=followers, sample=sample)


def recipient_batches(*, session: Session, filter: SegmentFilter | Mapping[str, Any],
                      batch: int = 5000, after_id: int = 0, window: int = 100_000,
                      window_rows: int = 100_000,
                      now: datetime | None = None) -> Iterator[list[Recipient]]:
    """Reachable followers of the segment in batches of `batch`, by ascending follower id, each once.

    Keyset paging over id windows: each query reads `id > last AND id <= last + window ORDER BY id`,
    so no query rereads what an earlier one covered and memory holds at most one window's matches.
    (A plain `LIMIT batch` query per page would rebuild the segment's join for every page.) Each window
    costs about one pass over the segment's enterprises, so the window starts at `window` ids and then
    aims at `window_rows` matches: sparse segments take few queries, dense ones stay bounded in memory.
    A campaign resumes after the last id it recorded as sent by passing it as `after_id`.
    """
    f = parse_filter(session=session, filter=filter)
    now = now or utcnow()
    position, span = after_id, window
    top = session.scalar(select(func.max(Follower.id))) or 0
    pending: list[Recipient] = []
    while position < top:
        hi = position + span
        rows = session.execute(
            select(Follower.id, Follower.openid)
            .where(follower_clause(f, now, (position, hi))).order_by(Follower.id)).all()
        pending.extend(Recipient(r[0], r[1]) for r in rows)
        while len(pending) >= batch:
            yield pending[:batch]
            del pending[:batch]
        position = hi
        span = max(batch, min(span * 4, span * window_rows // max(len(rows), 1)))
        if position >= top:  # followers who arrived while we streamed are in the segment too
            top = session.scalar(select(func.max(Follower.id))) or 0
    if pending:
        yield pending


def iter_recipients(*, session: Session, filter: SegmentFilter | Mapping[str, Any],
                    batch: int = 5000, after_id: int = 0, window: int = 100_000,
                    window_rows: int = 100_000, now: datetime | None = None) -> Iterator[Recipient]:
    """Each reachable follower of the segment once, by ascending id (see `recipient_batches`)."""
    for rows in recipient_batches(session=session, filter=filter, batch=batch, after_id=after_id,
                                  window=window, window_rows=window_rows, now=now):
        yield from rows
