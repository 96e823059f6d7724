"""Per campaign: counts by outcome (service.counts) and the same broken down by industry and park.

A follower counts once per group however many of their bound enterprises fall into it; followers
bound to no enterprise count under their own park (from its QR code) and under "unknown" industry.
A mass send reaches one WeChat tag, one park or one industry section, and WeChat counts it as a whole:
its breakdown is that one group with WeChat's counts.
"""
from __future__ import annotations

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from push import service
from push.exceptions import NotReady
from push.models import Campaign, Channel, Delivery, DeliveryStatus
from push.schemas import BreakdownRow, CampaignStats
from subscriptions import reference
from subscriptions.models import Enterprise, EnterpriseBinding, Follower, Park, WeChatTag
from subscriptions.segments import SegmentFilterError

SENT = (DeliveryStatus.sent, DeliveryStatus.delivered, DeliveryStatus.blocked)


def _measures():
    return (func.count(distinct(Delivery.id)),
            func.count(distinct(case((Delivery.status.in_(SENT), Delivery.id)))),
            func.count(distinct(case((Delivery.status == DeliveryStatus.delivered, Delivery.id)))),
            func.count(distinct(case((Delivery.opened_at.is_not(None), Delivery.id)))))


def campaign_stats(*, session: Session, campaign_id: int) -> CampaignStats:
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None and campaign.channel is Channel.mass_tag:
        return _mass_stats(session=session, campaign=campaign)
    joined = (select().select_from(Delivery)
              .join(Follower, Follower.id == Delivery.follower_id)
              .outerjoin(EnterpriseBinding, EnterpriseBinding.follower_id == Delivery.follower_id)
              .outerjoin(Enterprise, Enterprise.id == EnterpriseBinding.enterprise_id)
              .where(Delivery.campaign_id == campaign_id))
    by_division = session.execute(joined.add_columns(Enterprise.industry_code, *_measures())
                                  .group_by(Enterprise.industry_code)).all()
    sections: dict[str, list[int]] = {}
    for division, *numbers in by_division:
        d = reference.divisions().get(division or "")
        key = d.section if d else "?"
        acc = sections.setdefault(key, [0, 0, 0, 0])
        for i, n in enumerate(numbers):
            acc[i] += n  # a follower bound in two divisions of one section counts twice here: rare
    names = reference.sections()
    industry = [BreakdownRow(key=k, label=names[k].name if k in names else "未知行业", targeted=v[0], sent=v[1],
                             delivered=v[2], opened=v[3]) for k, v in sorted(sections.items())]
    park_id = func.coalesce(Enterprise.park_id, Follower.park_id)
    by_park = session.execute(joined.add_columns(park_id, *_measures()).group_by(park_id)).all()
    park_names = dict(session.execute(select(Park.id, Park.name)).all())
    parks = [BreakdownRow(key=str(pid) if pid else "-", label=park_names.get(pid, "未知园区"), targeted=t, sent=s,
                          delivered=d, opened=o) for pid, t, s, d, o in by_park]
    return CampaignStats(counts=service.counts(session=session, campaign_id=campaign_id),
                         by_industry=industry, by_park=sorted(parks, key=lambda r: -r.targeted))


def _mass_stats(*, session: Session, campaign: Campaign) -> CampaignStats:
    counts = service.counts(session=session, campaign_id=campaign.id)
    try:
        tag_id = service.mass_tag_id(session=session, campaign=campaign)
    except (NotReady, SegmentFilterError):  # its park was deleted since: the group has no name any more
        tag_id = None
    tag = session.scalar(select(WeChatTag).where(WeChatTag.tag_id == tag_id)) if tag_id is not None else None
    if tag is None:
        return CampaignStats(counts=counts, by_industry=[], by_park=[])
    park = session.get(Park, tag.park_id) if tag.park_id is not None else None
    section = reference.sections().get(tag.section) if park is None else None
    row = BreakdownRow(key=str(park.id) if park else tag.section,
                       label=park.name if park else section.name if section else "未知行业",
                       targeted=counts.targeted, sent=counts.sent, delivered=counts.delivered, opened=counts.opened)
    return CampaignStats(counts=counts, by_industry=[] if park else [row], by_park=[row] if park else [])
