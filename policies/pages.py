"""Public mobile pages linked from WeChat replies: a policy with its interpretation, an FAQ answer.

Server-rendered HTML with inline styles and no external assets; every value is escaped, and only http(s)
links become links.
"""
from __future__ import annotations

from html import escape
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from core.db import request_session
from core.ids import Id
from core.settings import get_settings
from policies import faq, service
from policies.models import PARTS, STATUS_LABELS, FaqEntry, Policy
from surveys import service as survey_service
from surveys.models import Survey, SurveyPurpose

router = APIRouter(tags=["pages"], include_in_schema=False)
Db = Annotated[Session, Depends(request_session, scope="function")]  # committed before the page is sent

_STYLE = """
body{margin:0;font:16px/1.7 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#222;background:#f5f6f7}
main{max-width:720px;margin:0 auto;padding:16px;background:#fff;min-height:100vh;box-sizing:border-box}
h1{font-size:21px;line-height:1.4;margin:8px 0 12px}h2{font-size:17px;margin:22px 0 6px;color:#0b5394}
.meta{font-size:14px;color:#666;margin:0 0 12px}.meta div{margin:2px 0}
.badge{display:inline-block;font-size:13px;padding:1px 8px;border-radius:10px;background:#e6f4ea;color:#137333}
.badge.off{background:#fce8e6;color:#c5221f}
.ask{border-left:4px solid #0b5394;background:#e8f0fe;padding:8px 12px;margin:12px 0;font-size:15px}
.warn{border-left:4px solid #d93025;background:#fce8e6;padding:8px 12px;margin:12px 0;font-size:15px}
p{margin:6px 0;white-space:pre-wrap;word-break:break-word}a{color:#0b5394}
.body{font-size:15px;color:#333}footer{margin-top:28px;font-size:13px;color:#888}
"""


def _page(title: str, inner: str, status_code: int = 200) -> HTMLResponse:
    html = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{inner}</main></body></html>")
    return HTMLResponse(html, status_code=status_code)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(line.strip())}</p>" for line in text.splitlines() if line.strip())


def _link(url: str | None, label: str) -> str:
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return f"<a href=\"{escape(url, quote=True)}\" rel=\"noopener noreferrer\">{escape(label)}</a>"
    return escape(url)


def not_found() -> HTMLResponse:
    return _page("页面不存在", "<h1>页面不存在</h1><p>您访问的政策或问答不存在，可能已被删除。</p>", 404)


@router.get("/p/{policy_id}", response_class=HTMLResponse, summary="A policy and its interpretation")
def policy_page(policy_id: Id, session: Db) -> HTMLResponse:
    policy = service.get_policy(session=session, policy_id=policy_id)
    if policy is None:
        return not_found()
    asking = survey_service.open_for_policy(session=session, policy_id=policy.id)
    return _page(policy.title, render_policy(policy, asking))


@router.get("/faq/{entry_id}", response_class=HTMLResponse, summary="An FAQ answer")
def faq_page(entry_id: Id, session: Db) -> HTMLResponse:
    entry = faq.get(session=session, entry_id=entry_id)
    if entry is None:
        return not_found()
    policy = service.get_by_number(session=session, doc_number=entry.policy_number) if entry.policy_number else None
    return _page(entry.question, render_faq(entry, policy))


def _asking(surveys: list[Survey]) -> str:
    """The surveys open about this policy: 意见征集 on a draft, 评价 of one in force."""
    out, tz = [], ZoneInfo(get_settings().push_timezone)
    for survey in surveys:
        what = "正在征求意见" if survey.purpose is SurveyPurpose.consult else "政策评价"
        title = (_link_local(f"/survey/{survey.id}", survey.title) if survey.public
                 else escape(survey.title) + "（已邀请的企业请从通知中进入）")
        out.append(f"<div class=\"ask\"><b>{what}</b>：{title}，截止 {survey.closes_at.astimezone(tz):%Y-%m-%d}</div>")
    return "".join(out)


def render_policy(policy: Policy, asking: list[Survey] = ()) -> str:
    off = "" if policy.in_force else " off"
    parts = [f"<h1>{escape(policy.title)}</h1>", _asking(list(asking)),
             f"<div class=\"meta\"><span class=\"badge{off}\">{STATUS_LABELS[policy.status]}</span>"]
    for label, value in (("文号", policy.doc_number), ("发文机关", policy.issuer),
                         ("发布日期", policy.issued_on), ("施行日期", policy.effective_on),
                         ("有效期至", policy.expires_on)):
        if value:
            parts.append(f"<div>{label}：{escape(str(value))}</div>")
    parts.append("</div>")
    if not policy.in_force:
        note = escape(service.status_note(policy))
        if policy.superseded_by is not None:
            note += f"，请查看{_link_local(f'/p/{policy.superseded_by.id}', '修订后的政策')}"
        parts.append(f"<div class=\"warn\">{note}。以下内容仅供参考。</div>")
    interp = policy.interpretation
    parts.append("<section><h2 style=\"font-size:19px;color:#222\">政策解读</h2>")
    if interp is None or not any(getattr(interp, f).strip() for f in PARTS):
        parts.append("<p>解读材料待发布。</p>")
    else:
        for field, label in PARTS.items():
            if getattr(interp, field).strip():
                parts.append(f"<h2>{label}</h2>{_paragraphs(getattr(interp, field))}")
        media = [m for m in (_link(interp.image_url, "查看图解"), _link(interp.video_url, "观看解读视频")) if m]
        if media:
            parts.append(f"<p>{' ｜ '.join(media)}</p>")
    parts.append("</section>")
    if policy.body.strip():
        parts.append(f"<section><h2 style=\"font-size:19px;color:#222\">政策原文</h2>"
                     f"<div class=\"body\">{_paragraphs(policy.body)}</div></section>")
    source = _link(policy.source_url, "查看原文出处")
    parts.append(f"<footer>{source}</footer>")
    return "".join(parts)


def render_faq(entry: FaqEntry, policy: Policy | None) -> str:
    parts = [f"<h1>{escape(entry.question)}</h1>"]
    if entry.category:
        parts.append(f"<div class=\"meta\"><span class=\"badge\">{escape(entry.category)}</span></div>")
    if policy is not None and not policy.in_force:
        note = service.status_note(policy).replace("该政策", "相关政策", 1)
        parts.append(f"<div class=\"warn\">{escape(note)}，本答复可能已不适用。</div>")
    parts.append(f"<section><h2>答复</h2>{_paragraphs(entry.answer)}</section>")
    source = []
    if entry.issuer:
        source.append(f"<div>发文单位：{escape(entry.issuer)}</div>")
    if policy is not None:
        source.append(f"<div>相关政策：{_link_local(f'/p/{policy.id}', f'《{policy.title}》')}</div>")
    elif entry.policy_number:
        source.append(f"<div>相关政策：{escape(entry.policy_number)}</div>")
    if entry.source_url:
        source.append(f"<div>来源：{_link(entry.source_url, entry.source_url)}</div>")
    if source:
        parts.append(f"<footer>{''.join(source)}</footer>")
    return "".join(parts)


def _link_local(path: str, label: str) -> str:
    return f"<a href=\"{escape(path, quote=True)}\">{escape(label)}</a>"
