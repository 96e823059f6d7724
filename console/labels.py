"""Chinese names of the domains' states, as staff read them."""
from __future__ import annotations

from policies.models import PARTS, STATUS_LABELS, PolicyStatus
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
KIND = {CampaignKind.policy: "政策", CampaignKind.notice: "通知", CampaignKind.survey: "问卷邀请",
        CampaignKind.feedback: "采纳情况"}

SURVEY_STATUS = {
    SurveyStatus.draft: ("草稿", "secondary"),
    SurveyStatus.submitted: ("待审核", "warning"),
    SurveyStatus.approved: ("已通过", "info"),
    SurveyStatus.open: ("收集中", "primary"),
    SurveyStatus.closed: ("已结束", "success"),
}
SURVEY_PURPOSE = {SurveyPurpose.consult: "意见征集", SurveyPurpose.evaluate: "政策评价", SurveyPurpose.general: "需求调查及其他"}
CELLS = {"industry_section": "行业门类", "park_id": "园区", "size": "企业规模"}

POLICY_STATUS = {status: (STATUS_LABELS[status], color) for status, color in (
    (PolicyStatus.in_force, "success"), (PolicyStatus.pending, "info"), (PolicyStatus.expired, "secondary"),
    (PolicyStatus.revised, "warning"), (PolicyStatus.repealed, "dark"))}
# A policy's fields and its interpretation's, in the form's order, by the names the revision history uses.
POLICY_FIELDS = {
    "title": "标题", "doc_number": "文号", "issuer": "发文单位", "issued_on": "发布日期", "effective_on": "施行日期",
    "expires_on": "失效日期", "status": "状态", "superseded_by_id": "修订后的政策", "body": "正文",
    "industries": "行业", "topics": "主题", "parks": "园区", "tags": "企业标签", "source_url": "原文链接",
    **PARTS, "image_url": "图解链接", "video_url": "视频链接",
}
REVISION_ACTION = {"policy.create": "新增政策", "policy.update": "修改政策", "interpretation.update": "修改解读",
                   "status": "状态随日期变化"}
REVISION_VIA = {"api": "接口", "console": "工作台", "import": "导入", "schedule": "定时任务", "seed": "初始数据"}
