"""Parks and industry sections mirrored as WeChat user tags, so that a mass send by tag is possible.

`sync` brings WeChat in line with the database and is safe to repeat: a second run makes no changes
and no (un)tagging calls. WeChat's limits shape it:
- an account has at most 100 tags (its system tags aside), counting tags staff made by hand. When
  parks and sections need more, the ones reaching the most followers are created first and the rest
  are reported as skipped. A tag once created keeps its place (it is deleted only with its park);
- a user has at most 20 tags: a follower already in 20 of ours is not tagged further, and one that
  WeChat refuses (45059, tags made elsewhere) is skipped and reported;
- `tags/members/batchtagging` takes 50 openids a call.
Tags hold reachable followers only (following, not muted), so a mass send by tag respects unfollow and
mute as of the last sync. An unfollowed follower's membership is forgotten without a call.
WeChat busy (-1) and network failures are retried with exponential backoff; the database is committed
after every WeChat change, so a crash or a retried task resumes where it stopped.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.db import utcnow
from core.redis import get_redis
from subscriptions import reference, service
from subscriptions.models import Park, WeChatTag
from subscriptions.schemas import TagSyncReport
from wechat.errors import Action, action_for

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ACCOUNT_TAGS = 100
SYSTEM_TAGS = frozenset({0, 1, 2})  # 星标组 and friends: not counted against the 100
BATCH = 50  # openids per batchtagging / batchuntagging call
NAME_BYTES = 30
TAG_EXISTS, TOO_MANY_TAGS, BAD_TAG_ID, USER_FULL = 45157, 45056, 45159, 45059
LAST_REPORT_KEY = "subscriptions:wechat_tags:last_report"


def park_tag_name(park: Park) -> str:
    """`园区3·高新区`, cut to WeChat's 30 bytes; the id keeps names unique."""
    return _cut(f"园区{park.id}·{park.name}")


def section_tag_name(code: str) -> str:
    return _cut(f"行业{code}·{reference.sections()[code].name}")


def _cut(name: str) -> str:
    while len(name.encode()) > NAME_BYTES:
        name = name[:-1]
    return name


class _Caller:
    """Calls WeChat, retrying busy (-1) and network failures with exponential backoff."""

    def __init__(self, report: TagSyncReport, attempts: int, backoff: float) -> None:
        self.report, self.attempts, self.backoff = report, attempts, backoff

    def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        for attempt in range(self.attempts):
            try:
                return fn(*args)
            except WeChatClientException as exc:
                if action_for(exc) not in (Action.retry, Action.refresh_token) or attempt + 1 == self.attempts:
                    raise
                self.report.retries += 1
                time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")


def sync(*, session: Session, client, now: datetime | None = None, attempts: int = 6,
         backoff: float = 0.5) -> TagSyncReport:
    """Mirror parks and sections as WeChat tags and their followers as members; commits as it goes."""
    now = now or utcnow()
    report = TagSyncReport()
    call = _Caller(report, attempts, backoff)
    remote = {int(t["id"]): t["name"] for t in call(client.tag.get)}
    rows = _reconcile(session, client, call, remote, report)
    rows += _create(session, client, call, remote, rows, now, report)
    for row in rows:
        _untag(session, client, call, row, now, report)
    for row in rows:
        _tag(session, client, call, row, now, report)
        row.synced_at = utcnow()
    session.commit()
    report.finished_at = utcnow()
    log.info("wechat tags synced", extra={k: v for k, v in report.model_dump().items() if k != "batch_sizes"})
    return report


def _reconcile(session: Session, client, call: _Caller, remote: dict[int, str],
               report: TagSyncReport) -> list[WeChatTag]:
    """Forget tags WeChat lost, delete orphans (park deleted), rename tags of renamed parks."""
    parks = {p.id: p for p in session.scalars(select(Park))}
    kept = []
    for row in service.list_wechat_tags(session=session):
        if row.tag_id not in remote:  # deleted at WeChat by hand: made again below
            service.drop_wechat_tag(session=session, row=row)
        elif row.park_id is None and row.section is None:
            try:
                call(client.tag.delete, row.tag_id)
            except WeChatClientException as exc:
                if exc.errcode != BAD_TAG_ID:
                    raise
            remote.pop(row.tag_id, None)
            report.tags_deleted.append(row.name)
            service.drop_wechat_tag(session=session, row=row)
        else:
            wanted = park_tag_name(parks[row.park_id]) if row.park_id else section_tag_name(row.section)
            if wanted != row.name:
                try:
                    call(client.tag.update, row.tag_id, wanted)
                    report.tags_renamed.append(f"{row.name} -> {wanted}")
                    row.name = remote[row.tag_id] = wanted
                except WeChatClientException as exc:
                    if exc.errcode != TAG_EXISTS:
                        raise
                    report.skipped_tags.append(f"{wanted}: rename refused, the name is taken at WeChat")
            kept.append(row)
        session.commit()
    return kept


def _create(session: Session, client, call: _Caller, remote: dict[int, str], rows: list[WeChatTag],
            now: datetime, report: TagSyncReport) -> list[WeChatTag]:
    """Create the missing tags, the largest audiences first, while the account has room."""
    have_parks = {r.park_id for r in rows}
    have_sections = {r.section for r in rows}
    wanted: list[tuple[int, int, str, dict]] = []  # (-audience, kind, name, keys)
    for park in session.scalars(select(Park).order_by(Park.id)):
        if park.id not in have_parks:
            flt = service.tag_filter(park_id=park.id)
            wanted.append((-service.tag_audience(session=session, flt=flt, now=now), 0, park_tag_name(park),
                           {"park_id": park.id}))
    for code in reference.sections():
        if code not in have_sections:
            flt = service.tag_filter(section=code)
            wanted.append((-service.tag_audience(session=session, flt=flt, now=now), 1, section_tag_name(code),
                           {"section": code}))
    ours = {r.tag_id for r in rows}
    by_name = {name: tid for tid, name in remote.items() if tid not in ours}
    free = MAX_ACCOUNT_TAGS - sum(1 for tid in remote if tid not in SYSTEM_TAGS)
    created = []
    for _, _, name, keys in sorted(wanted):
        if name in by_name:  # made by an earlier run that stopped before it committed: adopt it
            tag_id = by_name.pop(name)
        elif free <= 0:
            report.skipped_tags.append(f"{name}: the account has {MAX_ACCOUNT_TAGS} tags")
            continue
        else:
            try:
                tag_id = int(call(client.tag.create, name)["id"])
            except WeChatClientException as exc:
                if exc.errcode == TOO_MANY_TAGS:
                    free = 0
                    report.skipped_tags.append(f"{name}: the account has {MAX_ACCOUNT_TAGS} tags")
                    continue
                raise
            free -= 1
            report.tags_created.append(name)
        remote[tag_id] = name
        created.append(service.add_wechat_tag(session=session, tag_id=tag_id, name=name, **keys))
        session.commit()
    return created


def _untag(session: Session, client, call: _Caller, row: WeChatTag, now: datetime,
           report: TagSyncReport) -> None:
    after = 0
    while page := service.tag_removals(session=session, row=row, now=now, after_id=after):
        after = page[-1][0]
        gone = [fid for fid, _, following in page if not following]
        if gone:  # unfollowed: nothing to send them; WeChat needs no call
            service.drop_tag_members(session=session, row=row, follower_ids=gone)
            report.forgotten += len(gone)
        present = [(fid, openid) for fid, openid, following in page if following]
        for i in range(0, len(present), BATCH):
            chunk = present[i:i + BATCH]
            call(client.tag.untag_user, row.tag_id, [o for _, o in chunk])
            report.batch_sizes.append(len(chunk))
            service.drop_tag_members(session=session, row=row, follower_ids=[f for f, _ in chunk])
            report.untagged += len(chunk)
            session.commit()
        session.commit()


def _tag(session: Session, client, call: _Caller, row: WeChatTag, now: datetime,
         report: TagSyncReport) -> None:
    after = 0
    while page := service.tag_additions(session=session, row=row, now=now, after_id=after):
        after = page[-1][0]
        for i in range(0, len(page), BATCH):
            chunk = page[i:i + BATCH]
            try:
                call(client.tag.tag_user, row.tag_id, [o for _, o in chunk])
                report.batch_sizes.append(len(chunk))
                done = chunk
            except WeChatClientException as exc:
                if action_for(exc) in (Action.retry, Action.refresh_token):
                    raise
                done = _one_by_one(client, call, row, chunk, report)  # all or nothing at WeChat
            service.record_tag_members(session=session, row=row, follower_ids=[f for f, _ in done])
            report.tagged += len(done)
            session.commit()


def _one_by_one(client, call: _Caller, row: WeChatTag, chunk: list[tuple[int, str]],
                report: TagSyncReport) -> list[tuple[int, str]]:
    """Tag each follower of a refused batch alone; those WeChat refuses (20 tags, bad openid) are skipped."""
    done = []
    for fid, openid in chunk:
        try:
            call(client.tag.tag_user, row.tag_id, [openid])
            report.batch_sizes.append(1)
            done.append((fid, openid))
        except WeChatClientException as exc:
            if action_for(exc) in (Action.retry, Action.refresh_token):
                raise
            report.skipped_followers += 1
            log.warning("follower not tagged", extra={"errcode": exc.errcode, "tag": row.name})
    return done


def store_report(report: TagSyncReport) -> None:
    get_redis().set(LAST_REPORT_KEY, report.model_dump_json())


def last_report() -> TagSyncReport | None:
    raw = get_redis().get(LAST_REPORT_KEY)
    return TagSyncReport.model_validate(json.loads(raw)) if raw else None
