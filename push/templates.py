"""A campaign's template message as WeChat will show it: the configured template (PUSH_TEMPLATE_TITLE,
PUSH_TEMPLATE_CONTENT), campaign values mapped onto its typed keys (PUSH_TEMPLATE_FIELDS) and fitted to
WeChat's limits (wechat/template_fields.py). The same result is previewed, checked at submit and sent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.settings import Settings, get_settings
from push import content
from push.models import Campaign, CampaignKind, Channel
from push.schemas import CampaignPreview, PreviewField
from wechat import template_fields
from wechat.template_fields import Field, Template


@dataclass(frozen=True)
class CampaignTemplate:
    template: Template
    fields: dict[str, str]  # key -> a campaign value (title, summary, issuer, doc_number, date) or literal text

    @classmethod
    def from_settings(cls, s: Settings) -> CampaignTemplate:
        return cls(Template.parse(s.push_template_title, s.push_template_content), dict(s.push_template_fields))

    @classmethod
    def survey_from_settings(cls, s: Settings) -> CampaignTemplate:
        """Survey invitations' and reminders' (SURVEY_TEMPLATE_*)."""
        return cls(Template.parse(s.survey_template_title, s.survey_template_content), dict(s.survey_template_fields))

    @classmethod
    def of(cls, s: Settings, campaign: Campaign) -> tuple[CampaignTemplate, str]:
        """The template a campaign sends and its id."""
        if campaign.kind is CampaignKind.survey:
            return cls.survey_from_settings(s), campaign.template_id or s.survey_template_id
        return cls.from_settings(s), campaign.template_id or s.push_template_id

    def fill(self, message: content.Message) -> Filled:
        values = {key: message.values.get(src, src) for key, src in self.fields.items()}
        return Filled(self.template.title, template_fields.fill(self.template, values))

    def label(self, key: str) -> str:
        """How staff read a key WeChat named: 「政策名称」（thing1）."""
        found = next((k for k in self.template.keys if k.name == key), None)
        return found.title if found else f"「{key}」"


@dataclass(frozen=True)
class Filled:
    title: str
    fields: list[Field]

    @property
    def data(self) -> dict[str, dict[str, str]]:
        return template_fields.data(self.fields)

    @property
    def warnings(self) -> list[str]:
        return [f.warning for f in self.fields if f.warning]

    @property
    def problems(self) -> list[str]:
        return [f"template key {f.key.name} does not fit WeChat's rule for {f.key.kind} / {f.problem}"
                for f in self.fields if f.problem]


def problems(*, session: Session, campaign: Campaign, now: datetime) -> list[str]:
    """What keeps a template campaign's values from going out (empty for the other channels)."""
    if campaign.channel is not Channel.template:
        return []
    s = get_settings()
    message = content.build(session=session, campaign=campaign, tz=s.push_timezone, now=now,
                            notice_issuer=s.push_notice_issuer)
    return CampaignTemplate.of(s, campaign)[0].fill(message).problems


def preview(*, session: Session, campaign: Campaign, now: datetime) -> CampaignPreview:
    """Exactly what the follower's WeChat will show, and what the send will carry."""
    s = get_settings()
    message = content.build(session=session, campaign=campaign, tz=s.push_timezone, now=now,
                            notice_issuer=s.push_notice_issuer)
    if campaign.channel is not Channel.template:
        return CampaignPreview(channel=campaign.channel, text=message.text(message.page_url(s.public_base_url)))
    template, template_id = CampaignTemplate.of(s, campaign)
    filled = template.fill(message)
    rows = [PreviewField(key=f.key.name, kind=f.key.kind, label=f.key.label, value=f.value, original=f.original,
                         shortened=f.shortened, problem=f.problem) for f in filled.fields]
    return CampaignPreview(channel=campaign.channel, template_id=template_id,
                           title=filled.title, fields=rows, data=filled.data, warnings=filled.warnings,
                           problems=[f.problem for f in filled.fields if f.problem])
