"""Offline relay (the notice's item 6): per park, the targeted enterprises and a forwardable summary
for the park's and associations' contacts, as .xlsx. Analysts get contacts and credit codes masked."""
from __future__ import annotations

import io

from openpyxl.styles import Alignment, Font
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core import xlsx
from core.masking import mask_credit_code, mask_name, mask_phone
from core.settings import get_settings
from policies.models import Policy
from push.models import Campaign, CampaignKind, Delivery
from push.schemas import RelayPark
from subscriptions import reference
from subscriptions.models import Enterprise, EnterpriseBinding, Park


def summary_text(*, session: Session, campaign: Campaign, park: Park | None = None) -> str:
    """A text staff paste into the park's or association's WeChat group."""
    base = get_settings().public_base_url.rstrip("/")
    lines = [f"【政策推送】{campaign.title}"]
    if campaign.kind is CampaignKind.policy and campaign.policy_id:
        policy = session.get(Policy, campaign.policy_id)
        if policy is not None:
            if policy.doc_number:
                lines.append(f"文号：{policy.doc_number}")
            if policy.issuer:
                lines.append(f"发文机关：{policy.issuer}")
            interp = policy.interpretation
            gist = campaign.summary or (interp.benefits or interp.main_content if interp else "")
            if gist:
                lines.append(f"要点：{' '.join(gist.split())[:200]}")
        lines.append(f"政策原文及解读：{base}/p/{campaign.policy_id}")
    else:
        lines.append(" ".join(campaign.notice_text.split())[:300])
        lines.append(f"详情：{base}/notice/{campaign.id}")
    if park is not None:
        lines.append(f"请{park.name}及相关行业协会转发至园区企业，谢谢。")
    return "\n".join(lines)


def _enterprises(campaign_id: int):
    return (select(Enterprise.id).join(EnterpriseBinding, EnterpriseBinding.enterprise_id == Enterprise.id)
            .join(Delivery, Delivery.follower_id == EnterpriseBinding.follower_id)
            .where(Delivery.campaign_id == campaign_id))


def parks(*, session: Session, campaign: Campaign) -> list[RelayPark]:
    sub = _enterprises(campaign.id).add_columns(Enterprise.park_id).subquery()
    rows = session.execute(select(Park, func.count(distinct(sub.c.id))).join(sub, sub.c.park_id == Park.id)
                           .group_by(Park.id).order_by(Park.id)).all()
    return [RelayPark(park_id=p.id, park=p.name, enterprises=n,
                      summary=summary_text(session=session, campaign=campaign, park=p)) for p, n in rows]


def park_workbook(*, session: Session, campaign: Campaign, park_id: int, full_contacts: bool) -> bytes | None:
    park = session.get(Park, park_id)
    if park is None:
        return None
    ids = _enterprises(campaign.id).where(Enterprise.park_id == park_id).distinct()
    enterprises = list(session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.id)))
    if not enterprises:
        return None
    wb = xlsx.workbook()
    ws = wb.active
    ws.title = "转发摘要"
    xlsx.put(ws["A1"], summary_text(session=session, campaign=campaign, park=park))
    ws["A1"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 90
    ws.row_dimensions[1].height = 200
    sheet = wb.create_sheet("企业名单")
    xlsx.append(sheet, ["企业名称", "统一社会信用代码", "行业", "规模", "联系人", "联系电话"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for e in enterprises:
        code, name, phone = (e.credit_code, e.contact_name, e.contact_phone) if full_contacts else (
            mask_credit_code(e.credit_code), mask_name(e.contact_name), mask_phone(e.contact_phone))
        xlsx.append(sheet, [e.name, code, reference.industry_label(e.industry_code), e.size or "", name or "", phone or ""])
    for col, width in zip("ABCDEF", (36, 22, 30, 6, 10, 16)):
        sheet.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
