"""What a campaign's message says: the values a template message is filled from (push/templates.py),
the text of custom and mass messages, and the per-delivery tracking link that leads to the H5 page
(/p/{policy_id} or the notice)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from policies.models import Policy
from push.models import Campaign, CampaignKind
from surveys.models import Survey, SurveyFeedback


@dataclass(frozen=True, slots=True)
class Message:
    """Everything a send needs but the recipient; built once per batch."""

    values: dict[str, str]  # title, summary, issuer, doc_number, date (ISO, China time); a survey's deadline
    landing_path: str  # the H5 page the tracking link redirects to

    def page_url(self, base_url: str) -> str:
        """The H5 page itself, for messages without a per-delivery tracking link (test and mass sends)."""
        return base_url.rstrip("/") + self.landing_path

    def text(self, url: str) -> str:
        v = self.values
        return "\n".join(x for x in (f"【{v['title']}】", v["summary"], f"查看详情：{url}") if x)


def _clip(text: str, n: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build(*, session: Session, campaign: Campaign, tz: str, now: datetime, notice_issuer: str = "") -> Message:
    """A policy's issuer, number and date of issue; a notice names `notice_issuer` and is dated today."""
    values = {"title": campaign.title, "summary": campaign.summary, "issuer": notice_issuer, "doc_number": "",
              "date": now.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")}
    if campaign.kind is CampaignKind.survey:
        return _survey(session, campaign, values, tz)
    if campaign.kind is CampaignKind.feedback:
        survey = session.get(Survey, campaign.survey_id)
        row = session.get(SurveyFeedback, campaign.survey_id)
        values["title"] = f"{survey.title}的采纳情况" if survey else campaign.title
        values["summary"] = values["summary"] or _clip(row.adopted or row.not_adopted if row else "")
        return Message(values=values, landing_path=f"/s/feedback/{campaign.survey_id}")
    if campaign.kind is CampaignKind.policy and campaign.policy_id is not None:
        policy = session.get(Policy, campaign.policy_id)
        if policy is not None:
            interp = policy.interpretation
            values.update(issuer=policy.issuer, doc_number=policy.doc_number or "")
            if policy.issued_on:
                values["date"] = policy.issued_on.isoformat()
            if not values["summary"] and interp is not None:
                values["summary"] = _clip(interp.main_content or interp.benefits)
        landing = f"/p/{campaign.policy_id}"
    else:
        values["summary"] = values["summary"] or _clip(campaign.notice_text)
        landing = f"/notice/{campaign.id}"
    return Message(values=values, landing_path=landing)


def _survey(session: Session, campaign: Campaign, values: dict[str, str], tz: str) -> Message:
    """An invitation or reminder: the survey's title and deadline; each recipient's link is their form
    (/s/{token}, added per delivery)."""
    survey = session.get(Survey, campaign.survey_id)
    closes = survey.closes_at.astimezone(ZoneInfo(tz))
    values.update(title=survey.title, deadline=closes.strftime("%Y-%m-%dT%H:%M"))
    values["summary"] = ("诚邀您参与问卷调查" if not campaign.survey_round
                         else f"您尚未完成问卷，{closes.month}月{closes.day}日{closes:%H:%M}前仍可填写")
    return Message(values=values, landing_path="/s/")


def _mac(key: str, delivery_id: int) -> str:
    return hmac.new(key.encode(), f"delivery:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:16]


def tracking_token(key: str, delivery_id: int) -> str:
    """`<id hex>.<mac>`: says which delivery was opened; cannot be made up for another."""
    return f"{delivery_id:x}.{_mac(key, delivery_id)}"


def read_tracking_token(key: str, token: str) -> int | None:
    raw_id, _, mac = token.partition(".")
    try:
        delivery_id = int(raw_id, 16)
    except ValueError:
        return None
    return delivery_id if hmac.compare_digest(mac, _mac(key, delivery_id)) else None


def tracking_url(base_url: str, key: str, delivery_id: int) -> str:
    return f"{base_url.rstrip('/')}/t/{tracking_token(key, delivery_id)}"
