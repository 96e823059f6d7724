"""Celery tasks of push campaigns: thin, named, JSON-simple arguments, each safe to run twice."""
from __future__ import annotations

import logging
import uuid
from functools import lru_cache

from core.queue import celery_app
from core.redis import get_redis
from core.settings import get_settings
from push import delivery, flows, mass, schedule
from push.chains import Chains
from push.ratelimit import TokenBucket
from wechat.client import get_client

log = logging.getLogger(__name__)


@lru_cache
def _engine_parts() -> tuple[delivery.Options, TokenBucket, Chains]:
    s = get_settings()
    return (delivery.Options.from_settings(s), TokenBucket(get_redis(), rate=s.push_rate),
            Chains(get_redis(), ttl=flows.chain_ttl()))


@celery_app.task(name="push.start")
def start(campaign_id: int) -> None:
    """Write the campaign's recipients once and start its batch chains."""
    flows.start(campaign_id)


@celery_app.task(name="push.send_batch")
def send_batch(campaign_id: int, chain: int = 0) -> str:
    """One link of a batch chain: claim, send and record a batch, then enqueue the next link."""
    opts, bucket, chains = _engine_parts()
    token = uuid.uuid4().hex
    if not chains.acquire(campaign_id, chain, token):
        return "duplicate"  # this chain is alive elsewhere
    try:
        nxt = delivery.run_batch(campaign_id=campaign_id, token=token, opts=opts, client=get_client(),
                                 bucket=bucket, beat=lambda: chains.beat(campaign_id, chain, token))
    except BaseException:
        chains.drop(campaign_id, chain, token)  # the tick restarts it; its claims return after the lease
        raise
    if nxt.kind == "stop":
        chains.drop(campaign_id, chain, token)
    else:
        chains.hand_off(campaign_id, chain, token, ttl=chains.ttl + int(nxt.delay))
        send_batch.apply_async((campaign_id, chain), countdown=nxt.delay or None)
    return nxt.kind


@celery_app.task(name="push.send_mass")
def send_mass(campaign_id: int) -> str:
    """A mass_tag campaign's one mass send; claimed in the database, so a repeat of this task sends nothing."""
    opts, _, _ = _engine_parts()
    return mass.send(campaign_id=campaign_id, opts=opts, client=get_client())


@celery_app.task(name="push.tick")
def tick() -> None:
    """Beat: start due campaigns, resume after the quota reset, re-send dead workers' claims."""
    schedule.tick()
