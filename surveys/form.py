"""The survey form (H5) at /s/{token}: one page at a time with progress, server-rendered with WeUI and no
JavaScript. Answers go through surveys.respond, as the chat's do, so a partial response resumes in either.
A question whose condition reads an answer on its own page appears once that page is sent."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import requests
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from wechatpy.exceptions import WeChatOAuthException

from core.db import request_session, session_scope
from core.ids import MAX_ID, Id
from core.settings import get_settings
from subscriptions.models import Follower, FollowerState
from surveys import respond, service
from surveys.definition import AnswerError, Matrix, MultipleChoice, Page, Ranking, Rating
from surveys.definition import parse as parse_definition
from surveys.models import Survey
from wechat.oauth import OAuth

router = APIRouter(tags=["surveys"], include_in_schema=False)
Db = Annotated[Session, Depends(request_session, scope="function")]  # committed before the page is sent
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
WEUI = "/console/static/vendor/weui-2.6.26/weui.min.css"  # console/VENDOR.md
MAX_FIELDS = 500  # a page never has more inputs than this; a bigger form is refused before reading it


def _message(request: Request, text: str, status_code: int = 200, title: str = "问卷") -> HTMLResponse:
    return templates.TemplateResponse(request, "message.html", {"weui": WEUI, "title": title, "text": text},
                                      status_code=status_code)


def _page_questions(definition, page: Page, answers: dict[str, Any]) -> list:
    return [q for p, q in respond.shown(definition, answers) if p is page]


def _render(request: Request, survey: Survey, token: str, answers: dict[str, Any],
            errors: dict[str, str] | None = None, given: dict[str, Any] | None = None) -> HTMLResponse:
    definition = parse_definition(survey.definition)
    at = respond.step(definition, answers)
    page = at.page
    questions = _page_questions(definition, page, answers)
    first = next(i for i, (_, q) in enumerate(respond.shown(definition, answers), 1) if q is questions[0])
    return templates.TemplateResponse(request, "form.html", {
        "weui": WEUI, "survey": survey, "token": token, "page": page, "questions": questions,
        "values": {**answers, **(given or {})}, "errors": errors or {},
        "progress": int(100 * (first - 1) / max(at.total, 1)), "can_go_back": first > 1,
        "last": page is definition.pages[-1],
        "kind": _kind}, status_code=422 if errors else 200)


def preview(request: Request, definition: dict[str, Any], survey: Survey) -> HTMLResponse:
    """Every page's questions at once, read-only and numbered as the form numbers them (the console's
    phone preview)."""
    parsed = parse_definition(definition)
    numbered = enumerate((q for _, q in parsed.questions()), 1)
    pages = [(page, [next(numbered) for _ in page.elements]) for page in parsed.pages]
    return templates.TemplateResponse(request, "preview.html", {
        "weui": WEUI, "survey": survey, "pages": pages, "values": {}, "errors": {}, "kind": _kind})


def _kind(question) -> str:
    if isinstance(question, Rating):
        return "rating"
    if isinstance(question, Matrix):
        return "matrix"
    if isinstance(question, Ranking):
        return "ranking"
    if isinstance(question, MultipleChoice):
        return "checkbox"
    return question.type


def _value(question, form) -> Any:
    """The answer a page's inputs give for one question (None: left empty)."""
    name = question.name
    if isinstance(question, MultipleChoice):
        return form.getlist(name) or None
    if isinstance(question, Matrix):
        return {r.value: form[f"{name}.{r.value}"] for r in question.rows if form.get(f"{name}.{r.value}")} or None
    if isinstance(question, Ranking):
        ranks = {c.value: form.get(f"{name}.{c.value}", "").strip() for c in question.choices}
        if not any(ranks.values()):
            return None
        if sorted(ranks.values(), key=lambda r: (len(r), r)) != [str(i) for i in range(1, len(ranks) + 1)]:
            raise AnswerError(f"请为每个选项填写不重复的名次 1-{len(ranks)}")
        return sorted(ranks, key=lambda v: int(ranks[v]))
    value = form.get(name, "")
    return value if value.strip() else None


def _recipient_or_message(request: Request, session: Session, token: str):
    found = respond.by_token(session=session, token=token)
    if found is None:
        return None, None, _message(request, "链接无效或已失效。", 404)
    return *found, None


@router.get("/survey/authorized", response_class=HTMLResponse)
def authorized(request: Request, session: Db, code: str = "", state: str = "") -> Response:
    """Back from WeChat's web authorisation: the follower's openid, then their own form."""
    known = state.isdigit() and len(state) <= len(str(MAX_ID)) and int(state) <= MAX_ID
    survey = session.get(Survey, int(state)) if known else None
    if survey is None or not survey.public:
        return _message(request, "链接无效或已失效。", 404)
    if not code or len(code) > 128:
        return _message(request, "授权失败，请重新打开问卷链接。", 400, survey.title)
    try:
        openid = OAuth(_authorized_url()).fetch_access_token(code)["openid"]
    except (WeChatOAuthException, requests.RequestException, KeyError):
        return _message(request, "授权已失效，请重新打开问卷链接。", 400, survey.title)
    follower = session.scalar(select(Follower).where(Follower.openid == openid))
    if follower is None or follower.state is not FollowerState.following:
        return _message(request, "请先关注公众号，再参与问卷。", 403, survey.title)
    rec = respond.recipient(session=session, survey=survey, follower=follower)
    return RedirectResponse(f"/s/{rec.token}", status_code=303)


def _authorized_url() -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/survey/authorized"


@router.get("/survey/{survey_id}", response_class=HTMLResponse)
def public_entry(request: Request, survey_id: Id, session: Db) -> Response:
    """A public survey's link: WeChat's web authorisation (snsapi_base) tells us who is answering without
    a prompt, so each follower answers once."""
    survey = session.get(Survey, survey_id)
    if survey is None or not survey.public:
        return _message(request, "链接无效或已失效。", 404)
    why = service.accepting(survey)
    if why:
        return _message(request, why, title=survey.title)
    return RedirectResponse(OAuth(_authorized_url(), state=str(survey.id)).authorize_url, status_code=302)


@router.get("/s/{token}", response_class=HTMLResponse)
def show(request: Request, token: str, session: Db) -> HTMLResponse:
    rec, survey, refused = _recipient_or_message(request, session, token)
    if refused:
        return refused
    try:
        respond.check_ready(survey, rec)
    except respond.Refused as exc:
        return _message(request, str(exc), title=survey.title)
    answers = respond.answers_of(rec)
    if respond.step(parse_definition(survey.definition), answers).question is None:
        return _finish(request, session, survey, rec)
    return _render(request, survey, token, answers)


@router.post("/s/{token}", response_class=HTMLResponse)
async def send(request: Request, token: str) -> HTMLResponse:
    form = await request.form(max_fields=MAX_FIELDS, max_files=0)
    return await run_in_threadpool(_send, request, token, form)  # database work off the loop


def _send(request: Request, token: str, form) -> HTMLResponse:
    with session_scope() as session:  # one thread for the page's whole transaction, committed before it answers
        return _send_page(request, token, session, form)


def _send_page(request: Request, token: str, session: Session, form) -> HTMLResponse:
    rec, survey, refused = _recipient_or_message(request, session, token)
    if refused:
        return refused
    try:
        if form.get("action") == "back":
            respond.back_page(session=session, survey=survey, rec=rec)
            return RedirectResponse(f"/s/{token}", status_code=303)
        definition = parse_definition(survey.definition)
        answers = respond.answers_of(rec)
        page = respond.step(definition, answers).page
        errors, given = {}, {}
        for question in _page_questions(definition, page, answers) if page else []:
            try:
                given[question.name] = (_value(question, form), form.get(f"{question.name}-Comment"))
            except AnswerError as exc:
                errors[question.name] = str(exc)
        errors |= respond.answer_page(session=session, survey=survey, rec=rec, given=given)[0]
        if errors:
            return _render(request, survey, token, respond.answers_of(rec), errors,
                           {name: value for name, (value, _) in given.items()})
    except respond.Refused as exc:
        return _message(request, str(exc), title=survey.title)
    return RedirectResponse(f"/s/{token}", status_code=303)


def _finish(request: Request, session: Session, survey: Survey, rec) -> HTMLResponse:
    try:
        text = respond.complete(session=session, survey=survey, rec=rec, channel="form")
    except respond.Refused as exc:
        text = str(exc)
    token = rec.token if text == respond.THANKS else None  # a respondent may ask for the 采纳情况
    return templates.TemplateResponse(request, "thanks.html", {"weui": WEUI, "title": survey.title, "text": text,
                                                               "token": token})
