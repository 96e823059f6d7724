"""The content version: a counter in Redis bumped after every commit that changes policies or the FAQ.

Every process that searches compares it with the version its index was built from (policies.search), so an
edit reaches every server and worker without a restart. Flushes of policy-library rows mark the session;
the bump happens only after the commit, never for a rollback.
"""
from __future__ import annotations

import logging

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.redis import get_redis
from policies import embeddings  # noqa: F401 - a written entry commits with its passages embedded
from policies.models import FaqEntry, Interpretation, Policy, PolicyRevision

VERSION_KEY = "policies:content_version"
_FLAG = "policies_changed"
_CONTENT = (Policy, Interpretation, FaqEntry, PolicyRevision)

log = logging.getLogger(__name__)
_bumped_here = 0  # the newest version this process's own commits made: its searches use it at once


def mark_changed(session: Session) -> None:
    """Note that this transaction changed the library (for writes that bypass the ORM's unit of work)."""
    session.info[_FLAG] = True


def current_version() -> int:
    value = get_redis().get(VERSION_KEY)
    return int(value) if value else 0


def bump() -> int:
    """Tell every process that the content changed; returns the new version."""
    global _bumped_here
    version = int(get_redis().incr(VERSION_KEY))
    _bumped_here = max(_bumped_here, version)
    return version


def bumped_here() -> int:
    """The newest version this process committed (0 when none): its own changes need no Redis check."""
    return _bumped_here


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if any(isinstance(obj, _CONTENT) for objs in (session.new, session.dirty, session.deleted) for obj in objs):
        session.info[_FLAG] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        try:
            bump()
        except redis.RedisError:  # the data is committed; the next successful bump carries this change too
            log.exception("could not bump the policy content version")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)
