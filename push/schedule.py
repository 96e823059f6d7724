"""The beat tick (`push.tick`, every PUSH_TICK_SECONDS): send times and quiet hours live in the
database, so a campaign due while everything was down starts at the first tick after it comes back.

Each tick: starts due scheduled campaigns, resumes campaigns paused by the quota once it has reset,
returns claims of dead workers to pending, and restarts batch chains that died or waited out quiet
hours. A mass_tag campaign is one task instead: enqueued until it is claimed, never again after that
(a claim whose worker died finishes the campaign as unknown). No far-future ETA tasks: nothing is lost
when the broker is emptied.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from core.db import session_scope, utcnow
from core.queue import celery_app
from core.redis import get_redis
from core.settings import get_settings
from push import deliveries, flows, mass, receipts, service
from push.models import Campaign, CampaignStatus, Channel
from push.quiet import quiet_until
from surveys import invitations

log = logging.getLogger(__name__)


def tick(now: datetime | None = None) -> dict[str, list[int]]:
    s = get_settings()
    now = now or utcnow()
    report: dict[str, list[int]] = {"started": [], "resumed": [], "reclaimed": [], "chains": [], "mass": [],
                                    "finished": [], "surveys": []}
    lock = get_redis().lock("push:tick", timeout=max(30, int(s.push_tick_seconds * 3)))
    if not lock.acquire(blocking=False):
        return report  # the previous tick is still at work
    try:
        with session_scope() as session:
            report["started"] = service.start_due(session=session, now=now)
            report["surveys"] = invitations.tick(session=session, now=now)  # invitation and reminder rounds
            report["resumed"] = service.resume_after_quota(session=session, now=now)
            lease = timedelta(seconds=s.push_lease_seconds)
            report["finished"] = mass.finish_unknown(session=session, now=now, lease=lease)
            running = session.execute(select(Campaign.id, Campaign.channel, Campaign.materialized_at,
                                             Campaign.quiet_hours, Campaign.mass_started_at)
                                      .where(Campaign.status == CampaignStatus.running)).all()
            for cid, *_ in running:
                if deliveries.reset_stale(session=session, campaign_id=cid, lease=lease, now=now):
                    report["reclaimed"].append(cid)
        for cid, channel, materialized_at, quiet, mass_started_at in running:
            quiet_now = quiet_until(quiet if quiet is not None else s.push_quiet_hours, s.push_timezone, now)
            if channel is Channel.mass_tag:
                if mass_started_at is None and not quiet_now:
                    celery_app.send_task("push.send_mass", args=(cid,))
                    report["mass"].append(cid)
                continue
            if materialized_at is None:
                if not flows.materialize_lock(cid).locked():
                    celery_app.send_task("push.start", args=(cid,))
                continue
            if quiet_now:
                continue
            with session_scope() as session:
                open_rows = deliveries.open_rows(session=session, campaign_id=cid)
                if not open_rows and service.finish_if_done(session=session, campaign_id=cid):
                    report["finished"].append(cid)
            if open_rows.get("pending") and flows.ensure_chains(cid):
                report["chains"].append(cid)
        receipts.retry_unmatched()
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired
            pass
    if any(report.values()):
        log.info("push tick", extra=report)
    return report
