"""Chinese names of the domains' states, as staff read them."""
from __future__ import annotations

from push.models import CampaignKind, CampaignStatus, Channel
from surveys.models import SurveyPurpose, SurveyStatus

CAMPAIGN_STATUS = {
    CampaignStatus.draft: ("草稿", "secondary"),
    CampaignStatus.submitted: ("待审核", "warning"),
    CampaignStatus.approved: ("已通过", "info"),
    CampaignStatus.scheduled: ("已排期", "info"),
    CampaignStatus.running: ("发送中", "primary"),
    CampaignStatus.paused: ("已暂停", "warning"),
    CampaignStatus.finished: ("已完成", "success"),
    CampaignStatus.cancelled: ("已取消", "dark"),
}
CHANNEL = {Channel.template: "模板消息", Channel.custom: "客服消息", Channel.mass_tag: "按标签群发"}
KIND = {CampaignKind.policy: "政策", CampaignKind.notice: "通知"}

SURVEY_STATUS = {
    SurveyStatus.draft: ("草稿", "secondary"),
    SurveyStatus.submitted: ("待审核", "warning"),
    SurveyStatus.approved: ("已通过", "info"),
    SurveyStatus.open: ("收集中", "primary"),
    SurveyStatus.closed: ("已结束", "success"),
}
SURVEY_PURPOSE = {SurveyPurpose.consult: "意见征集", SurveyPurpose.evaluate: "政策评价", SurveyPurpose.general: "需求调查及其他"}
CELLS = {"industry_section": "行业门类", "park_id": "园区", "size": "企业规模"}
