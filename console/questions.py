"""人工咨询: the open hand-over queue (oldest first), each question with its conversation, the follower's
bound enterprises and the related entries; the answer (with add-to-FAQ) through the API's flow and sent
after the commit; questions followers withdrew, with add-to-similar; the frequent-questions report."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from bot import flows, service
from bot.tasks import send_answer
from bot import text as bot_text
from bot.models import HandoverReason, Question, QuestionStatus
from bot.schemas import AnswerCreate, SimilarFromQuestion
from console import forms, sessions
from console.deps import EDITORS, QUESTION_READERS, Staff, check_csrf, require
from console.templating import TZ, keyset_page, render
from core import cache
from core.db import utcnow
from core.ids import Id
from core.redis import get_redis
from core.masking import mask_credit_code, mask_data, mask_name, mask_phone, mask_text
from core.settings import get_settings
from policies import faq
from policies.search import find_answers
from staff.deps import DbSession
from staff.models import FULL_VIEW
from staff.service import audit
from subscriptions import service as subscriptions
from wechat import allowance

router = APIRouter(prefix="/console/questions", include_in_schema=False, dependencies=[Depends(check_csrf)])
Reader = Annotated[Staff, Depends(require(QUESTION_READERS))]  # editors answer, analysts read masked
Editor = Annotated[Staff, Depends(require(EDITORS))]
PAGE = 20
LATE = timedelta(hours=24)  # half of WeChat's 48 hours gone: marked in the queue
REASONS = {HandoverReason.low_confidence: "没有把握的答复", HandoverReason.asked_for_person: "粉丝要求人工"}


def question_or_404(question_id: Id, session: DbSession) -> Question:
    question = service.get_question(session=session, question_id=question_id)
    if question is None:
        raise HTTPException(404, f"咨询 {question_id} 不存在")
    return question


Found = Annotated[Question, Depends(question_or_404)]


def age(since: datetime, now: datetime) -> str:
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分"
    return f"{minutes // 1440} 天 {minutes // 60 % 24} 小时"


def _shown(question: Question, staff: Staff) -> dict[str, Any]:
    """What followers typed, masked (phone, ID-card and credit-code numbers) for roles without full view."""
    full = staff.user.role in FULL_VIEW
    return {"q": question, "text": question.text if full else mask_text(question.text),
            "conversation": question.conversation if full else mask_data(question.conversation),
            "answer": question.answer if full else mask_text(question.answer)}


@router.get("", response_class=HTMLResponse)
def queue(request: Request, session: DbSession, staff: Reader,
          state: Annotated[Literal["open", "undelivered"], Query(alias="status")] = "open",
          after_id: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    """Questions waiting for staff, oldest first: open ones, or answers WeChat did not take."""
    state = QuestionStatus(state)
    rows = service.list_questions(session=session, status=state, limit=PAGE + 1, after_id=after_id,
                                  oldest_first=True)
    rows, next_id = keyset_page(rows, PAGE)
    now = utcnow()
    return render(request, "questions/queue.html",
                  {"rows": [{**_shown(q, staff), "age": age(q.created_at, now),
                             "late": now - q.created_at > LATE} for q in rows],
                   "reasons": REASONS, "next_after": next_id, "tab": state.value,
                   "state": state}, staff=staff)


# --- one question -------------------------------------------------------------------------------------

def _enterprises(session: Session, question: Question, staff: Staff) -> list[dict[str, Any]]:
    full = staff.user.role in FULL_VIEW
    return [{"name": e.name, "park": e.park.name if e.park else "",
             "credit_code": e.credit_code if full else mask_credit_code(e.credit_code),
             "contact": (e.contact_name or "") if full else mask_name(e.contact_name),
             "phone": (e.contact_phone or "") if full else mask_phone(e.contact_phone),
             "verified": e.verified_at is not None}
            for e in subscriptions.list_bound_enterprises(session=session, follower_id=question.follower_id)]


def _undeliverable(question: Question) -> str:
    """Why WeChat would not take a customer-service message to the follower now (48 hours, or the
    allowance used up), or "" when it would."""
    try:
        allowance.check(get_redis(), question.follower.openid)
    except allowance.Refused as exc:
        return str(exc)
    return ""


def refusal(exc: service.QuestionError) -> str:
    """The domain's refusal (English, for the API) as staff read it."""
    message = str(exc)
    if isinstance(exc, service.Undeliverable):  # Chinese already
        return message
    if "answered already" in message:
        return "该问题已由工作人员答复"
    if "bytes" in message:
        return f"答复过长：微信一条消息最多 {bot_text.REPLY_BYTES} 字节（约 600 个汉字），请缩短或改附链接"
    if "was not withdrawn" in message:
        return "该问题不是看了知识条目后撤回的"
    if "is gone" in message:
        return "撤回时看的知识条目已被删除"
    if "already" in message:
        return "该问题已加入知识库"
    return message


def _detail_page(request: Request, session: Session, staff: Staff, question: Question, *,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    related = [c for c in find_answers(question.text, k=5) if c.confidence >= get_settings().answer_list_floor]
    helped = faq.get(session=session, entry_id=question.helped_id) if question.helped_kind == "faq" and question.helped_id else None
    return render(request, "questions/detail.html",
                  {**_shown(question, staff), "enterprises": _enterprises(session, question, staff),
                   "related": related, "undeliverable": _undeliverable(question), "helped": helped,
                   "age": age(question.created_at, utcnow()), "reasons": REASONS,
                   "can_answer": staff.can(EDITORS), "values": values or {}, "errors": errors or {},
                   "categories": [c for c, _ in faq.categories(session=session) if c]},
                  staff=staff, status_code=status_code)


@router.get("/withdrawn", response_class=HTMLResponse)
def withdrawn(request: Request, session: DbSession, staff: Reader,
              before_id: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    rows = service.list_questions(session=session, status=QuestionStatus.withdrawn, limit=PAGE + 1,
                                  before_id=before_id)
    rows, next_id = keyset_page(rows, PAGE)
    helped = {q.helped_id: faq.get(session=session, entry_id=q.helped_id) for q in rows
              if q.helped_kind == "faq" and q.helped_id}
    return render(request, "questions/withdrawn.html",
                  {"rows": [_shown(q, staff) for q in rows], "helped": helped, "can_edit": staff.can(EDITORS),
                   "next_before": next_id, "tab": "withdrawn"}, staff=staff)


def _report(session: Session, start: datetime, end: datetime) -> tuple[list[service.FrequentQuestion], dict]:
    """The range's most asked questions and totals, cached (they group every question asked in it)."""
    rows, totals = cache.cached(f"questions-report:{start.isoformat()}:{end.isoformat()}", lambda: (
        [asdict(r) for r in service.frequent_questions(session=session, since=start, until=end, limit=50)],
        service.ask_totals(session=session, since=start, until=end)))
    return [service.FrequentQuestion(**r) for r in rows], totals


@router.get("/report", response_class=HTMLResponse)
def report(request: Request, session: DbSession, staff: Reader, since: str = "", until: str = "") -> HTMLResponse:
    """The most asked questions over a range of China-time days (the last 30 by default)."""
    errors: dict[str, str] = {}
    today = datetime.now(TZ).date()
    days: dict[str, date] = {}
    for name, raw, default in (("since", since, today - timedelta(days=29)), ("until", until, today)):
        try:
            days[name] = date.fromisoformat(raw) if raw else default
        except ValueError:
            errors[name] = "日期格式有误"
            days[name] = default
    if not errors and days["since"] > days["until"]:
        errors["until"] = "结束日期早于开始日期"
    start = datetime.combine(days["since"], time(), TZ)
    end = datetime.combine(days["until"] + timedelta(days=1), time(), TZ)
    rows, totals = ([], None) if errors else _report(session, start, end)
    full = staff.user.role in FULL_VIEW
    shown = [{"r": r, "text": r.example if full else mask_text(r.example)} for r in rows]
    chart = {"labels": [bot_text.cut(s["text"], 16) for s in shown[:15]][::-1],
             "answered": [s["r"].answered for s in shown[:15]][::-1],
             "handed_over": [s["r"].handed_over for s in shown[:15]][::-1]}
    return render(request, "questions/report.html",
                  {"rows": shown, "chart": chart, "since": since or days["since"].isoformat(),
                   "until": until or days["until"].isoformat(), "errors": errors, "tab": "report",
                   "totals": totals},
                  staff=staff, status_code=422 if errors else 200)


@router.get("/{question_id}", response_class=HTMLResponse)
def detail(request: Request, question: Found, session: DbSession, staff: Reader) -> HTMLResponse:
    return _detail_page(request, session, staff, question)


# --- actions ------------------------------------------------------------------------------------------

@router.post("/{question_id}/answer", response_class=HTMLResponse)
def answer(request: Request, question: Found, session: DbSession, staff: Editor,
           answer: Annotated[str, Form()] = "", add_to_faq: Annotated[str, Form()] = "",
           category: Annotated[str, Form()] = "") -> Response:
    values = {"answer": answer, "add_to_faq": bool(add_to_faq), "category": category}
    body, errors = forms.parse(AnswerCreate, {"answer": answer, "add_to_faq": bool(add_to_faq),
                                              "category": category.strip() or None})
    if body is None:
        return _detail_page(request, session, staff, question, values=values, errors=errors, status_code=422)
    try:
        message = flows.answer(session=session, question=question, answer=body.answer, staff=staff.user,
                               add_to_faq=body.add_to_faq, category=body.category)
    except service.QuestionError as exc:
        session.rollback()
        session.refresh(question)
        return _detail_page(request, session, staff, question, values=values, errors={"answer": refusal(exc)},
                            status_code=409)
    audit(session=session, actor=staff.user, action="question.answer", target=f"question:{question.id}",
          faq_id=question.faq_id)
    session.commit()  # the worker must find the answer recorded
    send_answer.delay(question.id, message)
    sessions.flash(staff.session.token, f"已答复咨询 {question.id}，正通过客服消息发给粉丝"
                   + ("；问答已加入知识库" if question.faq_id else ""))
    return RedirectResponse("/console/questions", status_code=303)


@router.post("/{question_id}/add-to-similar")
def add_to_similar(question: Found, session: DbSession, staff: Editor,
                   text: Annotated[str, Form()] = "") -> Response:
    body, errors = forms.parse(SimilarFromQuestion, {"question": text.strip() or None})
    try:
        if body is None:
            raise service.QuestionError(errors.get("question", "相似问法有误"))
        entry_id = flows.similar_from_question(session=session, question=question, text=body.question)
    except service.QuestionError as exc:
        session.rollback()
        sessions.flash(staff.session.token, f"未加入相似问法：{refusal(exc)}", "danger")
        return RedirectResponse("/console/questions/withdrawn", status_code=303)
    audit(session=session, actor=staff.user, action="question.add_to_similar", target=f"question:{question.id}",
          faq_id=entry_id)
    sessions.flash(staff.session.token, f"已加入知识条目 {entry_id} 的相似问法")
    return RedirectResponse("/console/questions/withdrawn", status_code=303)
