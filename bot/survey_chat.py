"""`问卷` in the chat: the open surveys this follower may answer, and one question a message through the
dialog engine. Answers go through surveys.respond and are saved at once, so `取消` keeps them, `继续问卷`
(or the form) resumes, and a message WeChat sends again is answered once. Matrix and ranking questions
do not fit a chat message: the follower is sent the form link instead."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot import dialogs, service
from bot.topics import parse_numbers
from core.db import session_scope
from core.settings import get_settings
from surveys import respond
from surveys.definition import OTHER, AnswerError, Matrix, MultipleChoice, Ranking, Rating, SingleChoice, Text
from surveys.definition import parse as parse_definition
from surveys.models import RecipientStatus, Survey, SurveyRecipient

NONE_OPEN = "暂无问卷。有新的意见征集时会通知您。"
SKIP, BACK = "跳过", "上一题"
HINT = "回复“跳过”跳过选答题，“上一题”返回，“取消”暂停（进度会保存，回复“继续问卷”继续）。"


def form_link(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/s/{token}"


def start(openid: str) -> str:
    """`问卷`: one open survey starts at once; several are listed to pick from."""
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        found = [(s.id, s.title) for s in respond.open_for(session=session, follower=follower)]
    if not found:
        return NONE_OPEN
    if len(found) == 1:
        return _begin(openid, found[0][0])
    lines = [f"{n}. {title}" for n, (_, title) in enumerate(found, 1)]
    return dialogs.begin(openid, SURVEY, step="pick", data={"surveys": found}, reply=(
        "以下问卷邀请您参与，请回复序号开始：\n" + "\n".join(lines) + "\n回复“取消”退出。"))


def resume(openid: str) -> str:
    """`继续问卷`: the survey this follower started last and has not finished."""
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        open_ids = {s.id for s in respond.open_for(session=session, follower=follower)}
        started = [i for i in session.scalars(select(SurveyRecipient.survey_id).where(
            SurveyRecipient.follower_id == follower.id, SurveyRecipient.status == RecipientStatus.started)
            .order_by(SurveyRecipient.id.desc())) if i in open_ids]
    if not started:
        return "没有未完成的问卷。回复“问卷”查看可参与的问卷。"
    return _begin(openid, started[0])


def _pick(state: dialogs.State, text: str) -> dialogs.Turn:
    found = state.data["surveys"]
    numbers = parse_numbers(text)
    if not numbers or len(numbers) != 1 or not 1 <= numbers[0] <= len(found):
        return dialogs.Turn(f"请回复 1-{len(found)} 之间的一个序号；或回复“取消”。", "pick")
    state.data = {"survey_id": found[numbers[0] - 1][0]}  # the engine keeps what a step leaves in data
    return _turn(state.openid, state.data["survey_id"])


def _begin(openid: str, survey_id: int) -> str:
    turn = _turn(openid, survey_id)
    if turn.next is None:
        return turn.reply
    return dialogs.begin(openid, SURVEY, step=turn.next, data={"survey_id": survey_id}, reply=turn.reply)


def _load(session, openid: str, survey_id: int) -> tuple[Survey, SurveyRecipient | None]:
    survey = session.get(Survey, survey_id)
    follower = service.ensure_follower(session=session, openid=openid)
    return survey, respond.recipient(session=session, survey=survey, follower=follower)


def _turn(openid: str, survey_id: int, intro: str = "") -> dialogs.Turn:
    """Ask the question the follower stands at (or finish)."""
    with session_scope() as session:
        survey, rec = _load(session, openid, survey_id)
        return _next_turn(session, survey, rec, intro)


def _next_turn(session, survey: Survey, rec: SurveyRecipient | None, intro: str = "") -> dialogs.Turn:
    if rec is None:
        return dialogs.Turn("您不在本问卷的邀请范围内。")
    try:
        respond.check_ready(survey, rec)
    except respond.Refused as exc:
        return dialogs.Turn(str(exc))
    at = respond.step(parse_definition(survey.definition), respond.answers_of(rec))
    if at.question is None:
        try:
            return dialogs.Turn(intro + respond.complete(session=session, survey=survey, rec=rec, channel="chat"))
        except respond.Refused as exc:
            return dialogs.Turn(str(exc))
    first = not respond.answers_of(rec)
    head = f"《{survey.title}》\n{survey.introduction.strip()}\n\n" if first else ""
    if isinstance(at.question, Matrix | Ranking):
        return dialogs.Turn(intro + head + f"第 {at.number} 题“{at.question.title}”需要在网页中填写，"
                            f"已答的题目已保存：{form_link(rec.token)}")
    return dialogs.Turn(intro + head + ask(at), "answer")


def ask(at: respond.Step) -> str:
    q = at.question
    lines = [f"第 {at.number}/{at.total} 题：{q.title}" + ("" if q.isRequired else "（选答）")]
    if q.description:
        lines.append(q.description)
    if isinstance(q, SingleChoice | MultipleChoice):
        options = [c.text for c in q.choices] + ([q.otherText] if q.showOtherItem else [])
        lines += [f"{n}. {text}" for n, text in enumerate(options, 1)]
        lines.append("请回复序号，多个用空格分隔，如“1 3”。" if isinstance(q, MultipleChoice) else "请回复序号。")
        if q.showOtherItem:
            lines.append(f"选“{q.otherText}”可在序号后写明，如“{len(options)} 具体内容”。")
    elif isinstance(q, Rating):
        ends = "，".join(x for x in (q.minRateDescription and f"{q.rateMin} 表示{q.minRateDescription}",
                                     q.maxRateDescription and f"{q.rateMax} 表示{q.maxRateDescription}") if x)
        lines.append(f"请回复 {q.rateMin}-{q.rateMax} 的数字" + (f"（{ends}）" if ends else "") + "。")
    elif isinstance(q, Text) and q.inputType == "date":
        lines.append("请按 2025-01-31 的格式回复日期。")
    elif isinstance(q, Text) and q.inputType == "number":
        lines.append("请回复一个数字。")
    else:
        lines.append(f"请直接回复文字（不超过 {q.maxLength} 字）。")
    lines.append(HINT)
    return "\n".join(lines)


_NUMBERS = re.compile(r"^\s*([\d\s,，、;；]+?)\s*([^\d\s,，、;；].*)?$", re.S)


def _chat_value(q, text: str) -> tuple[object, str | None]:
    """What a chat reply means for a question: (answer, 其他's text). Choices are numbers, and 其他
    may carry its text after them: “4 出口退税”."""
    if not isinstance(q, SingleChoice | MultipleChoice):
        return text, None
    options = [c.value for c in q.choices] + ([OTHER] if q.showOtherItem else [])
    match = _NUMBERS.match(text)
    numbers = parse_numbers(match[1]) if match else None
    if numbers is None or not all(1 <= n <= len(options) for n in numbers):
        raise AnswerError(f"请回复 1-{len(options)} 之间的序号")
    values = [options[n - 1] for n in numbers]
    comment = (match[2] or "").strip() or None
    if comment and OTHER not in values:
        raise AnswerError("请只回复序号")
    if isinstance(q, SingleChoice):
        if len(values) != 1:
            raise AnswerError("本题只选一项")
        return values[0], comment
    return values, comment


def _answer(state: dialogs.State, text: str) -> dialogs.Turn:
    survey_id = state.data["survey_id"]
    with session_scope() as session:
        survey, rec = _load(session, state.openid, survey_id)
        try:
            respond.check_ready(survey, rec)
            if text.strip() == BACK:
                respond.back(session=session, survey=survey, rec=rec)
            else:
                at = respond.step(parse_definition(survey.definition), respond.answers_of(rec))
                value, comment = (None, None) if text.strip() == SKIP else _chat_value(at.question, text)
                respond.answer(session=session, survey=survey, rec=rec, name=at.question.name, value=value,
                               comment=comment)
        except respond.Refused as exc:
            return dialogs.Turn(str(exc))
        except AnswerError as exc:
            return dialogs.Turn(f"{exc}。\n" + ask(respond.step(parse_definition(survey.definition),
                                                                 respond.answers_of(rec))), "answer")
        return _next_turn(session, survey, rec)  # the next question, in the same transaction


SURVEY = dialogs.register(dialogs.Dialog(
    "survey", "问卷", {"pick": _pick, "answer": _answer},
    cancelled="已暂停问卷，已答的题目已保存。回复“继续问卷”可接着回答。"))
