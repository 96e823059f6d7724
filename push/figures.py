"""Pushes' figures over time, for the dashboard and the assessment: messages sent by day, reach by month."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core.db import local_day
from policies.models import Policy
from push.models import Campaign, Delivery


def sent_by_day(*, session: Session, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """{day (YYYY-MM-DD, local time): {sent, opened}}: messages sent that day, and how many of them were opened."""
    day = local_day(Delivery.sent_at)
    rows = session.execute(select(day, func.count(), func.count(Delivery.opened_at))
                           .where(Delivery.sent_at >= since, Delivery.sent_at < until).group_by(day))
    return {d: {"sent": sent, "opened": opened} for d, sent, opened in rows}


def reach_by_month(*, session: Session, since: datetime, until: datetime) -> list[dict]:
    """Campaigns launched in the period, by month (YYYY-MM) and the issuing department of their policy
    ("" for campaigns without one): campaigns, messages sent and opened."""
    month = func.substr(local_day(Campaign.launched_at), 1, 7)
    issuer = func.coalesce(Policy.issuer, "")
    rows = session.execute(
        select(month, issuer, func.count(distinct(Campaign.id)), func.count(Delivery.sent_at),
               func.count(Delivery.opened_at))
        .select_from(Campaign).outerjoin(Policy, Policy.id == Campaign.policy_id)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id)
        .where(Campaign.launched_at >= since, Campaign.launched_at < until).group_by(month, issuer))
    return [{"month": m, "issuer": i, "campaigns": c, "sent": s, "opened": o} for m, i, c, s, o in rows]
