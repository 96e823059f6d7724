"""Answering a survey, the same for the chat and the form: which question comes next under the skip
logic, one answer checked and saved into the recipient's draft (so a partial response resumes anywhere),
and completion, which counts the quotas and writes the response apart from the recipient.

A draft is {"answers": {name: value, "<name>-Comment": text}, "order": [names answered, in order]};
a skipped optional question is answered None. Functions flush; the caller commits."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.settings import get_settings
from subscriptions import reference
from subscriptions.models import Enterprise, EnterpriseBinding, Follower
from surveys import conditions, counts, quotas, service
from surveys.definition import OTHER, AnswerError, Definition, Page
from surveys.definition import parse as parse_definition
from surveys.models import RecipientStatus, Survey, SurveyRecipient, SurveyResponse

R = RecipientStatus
THANKS = "问卷已提交，感谢您的参与！"
SCREENED = "感谢您的参与！本次调查中您所在类别的名额已满，问卷到此结束。"


class Step(NamedTuple):
    """Where a respondent stands: the next question (None: nothing left to ask) and its page."""

    page: Page | None
    question: Any | None
    number: int  # 1-based position among the questions shown so far
    total: int  # questions that would be shown given the answers so far


def _holds(expression: str | None, answers: Mapping[str, Any]) -> bool:
    return expression is None or conditions.parse(expression).test(answers)


def shown(definition: Definition, answers: Mapping[str, Any]) -> list[tuple[Page, Any]]:
    """The questions shown given the answers so far, in order, up to a `complete` trigger that holds."""
    out = []
    for page, question in definition.questions():
        if _holds(page.visibleIf, answers) and _holds(question.visibleIf, answers):
            out.append((page, question))
            if question.name in answers and any(_holds(t.expression, answers) for t in definition.triggers
                                                if question.name in conditions.parse(t.expression).names):
                break  # an answer that ends the survey
    return out


def _draft(recipient: SurveyRecipient) -> dict[str, Any]:
    draft = recipient.draft or {}
    return {"answers": dict(draft.get("answers", {})), "order": list(draft.get("order", []))}


def answers_of(recipient: SurveyRecipient) -> dict[str, Any]:
    return _draft(recipient)["answers"]


def step(definition: Definition, answers: Mapping[str, Any]) -> Step:
    questions = shown(definition, answers)
    for number, (page, question) in enumerate(questions, 1):
        if question.name not in answers:
            return Step(page, question, number, len(questions))
    return Step(None, None, len(questions), len(questions))


def cells(*, session: Session, follower: Follower) -> dict[str, Any]:
    """The segment cells a follower counts in: their first bound enterprise's section, park and size,
    else the park they scanned."""
    row = session.execute(
        select(Enterprise.industry_code, Enterprise.park_id, Enterprise.size)
        .join(EnterpriseBinding, EnterpriseBinding.enterprise_id == Enterprise.id)
        .where(EnterpriseBinding.follower_id == follower.id)
        .order_by(EnterpriseBinding.bound_at, Enterprise.id).limit(1)).first()
    division = reference.divisions().get(row[0]) if row and row[0] else None
    return {"industry_section": division.section if division else None,
            "park_id": (row[1] if row else None) or follower.park_id,
            "size": row[2] if row else None}


def recipient(*, session: Session, survey: Survey, follower: Follower) -> SurveyRecipient | None:
    """The follower's recipient row; made on first use for a public survey, None if not invited."""
    found = session.scalar(select(SurveyRecipient).where(SurveyRecipient.survey_id == survey.id,
                                                         SurveyRecipient.follower_id == follower.id))
    if found is None and survey.public:
        found = SurveyRecipient(survey_id=survey.id, follower_id=follower.id,
                                **cells(session=session, follower=follower))
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError:  # the follower's other message made it meanwhile
            return recipient(session=session, survey=survey, follower=follower)
    return found


def by_token(*, session: Session, token: str) -> tuple[SurveyRecipient, Survey] | None:
    """The recipient a form link is for, with its survey (one statement: the form reads both on every page)."""
    if not token or len(token) > 32:
        return None
    row = session.execute(_BY_TOKEN, {"token": token}).first()
    return None if row is None else (row[0], row[1])


# built once: constructing the statement cost as much as running it
_BY_TOKEN = (select(SurveyRecipient, Survey).join(Survey, Survey.id == SurveyRecipient.survey_id)
             .where(SurveyRecipient.token == bindparam("token")))


def open_for(*, session: Session, follower: Follower, now: datetime | None = None) -> list[Survey]:
    """The open surveys this follower may answer and has not completed: public ones and invitations."""
    now = now or utcnow()
    invited = select(SurveyRecipient.survey_id).where(SurveyRecipient.follower_id == follower.id)
    done = select(SurveyRecipient.survey_id).where(
        SurveyRecipient.follower_id == follower.id,
        SurveyRecipient.status.in_((R.completed, R.screened_out)))
    rows = session.scalars(
        select(Survey).where(Survey.status == service.S.open, Survey.closes_at > now,
                             (Survey.opens_at.is_(None)) | (Survey.opens_at <= now),
                             Survey.public | Survey.id.in_(invited), Survey.id.not_in(done))
        .order_by(Survey.closes_at, Survey.id))
    return list(rows)


class Refused(Exception):
    """The respondent may not answer now (closed, completed, screened out); the message says so."""


def check_ready(survey: Survey, rec: SurveyRecipient) -> None:
    """Raises Refused when this recipient may not answer now."""
    if rec.status is R.completed:
        raise Refused("您已提交过本问卷，感谢参与！")
    if rec.status is R.screened_out:
        raise Refused(SCREENED)
    why = service.accepting(survey)
    if why:
        raise Refused(why)


def answer(*, session: Session, survey: Survey, rec: SurveyRecipient, name: str, value: Any,
           comment: str | None = None) -> Step:
    """Check and save one answer (None skips an optional question); returns what comes next.
    Raises AnswerError (the answer does not fit) or Refused."""
    errors, at = answer_page(session=session, survey=survey, rec=rec, given={name: (value, comment)})
    if errors:
        raise AnswerError(errors[name])
    return at


def answer_page(*, session: Session, survey: Survey, rec: SurveyRecipient,
                given: Mapping[str, tuple[Any, str | None]]) -> tuple[dict[str, str], Step]:
    """Check and save the answers of one page, {name: (value, comment)}, each against the answers given
    before the page; returns the problems by question (the answers that fit are saved) and what comes next.
    Raises Refused."""
    check_ready(survey, rec)
    definition = parse_definition(survey.definition)
    draft = _draft(rec)
    current = {q.name: q for _, q in shown(definition, draft["answers"])}
    errors = {}
    for name, (value, comment) in given.items():
        try:
            _put(draft, current.get(name), name, value, comment)
        except AnswerError as exc:
            errors[name] = str(exc)
    saved = [name for name in given if name not in errors]
    if saved:
        _prune(definition, draft)
        rec.draft, rec.last_question, rec.status = draft, saved[-1], R.started
        if quotas.full(session=session, survey=survey, cells=_cells(rec), answers=draft["answers"]):
            _screen_out(rec)
            session.flush()
            raise Refused(SCREENED)
    return errors, step(definition, draft["answers"])  # written once, at the commit


def _put(draft: dict[str, Any], question: Any, name: str, value: Any, comment: str | None) -> None:
    if question is None:
        raise AnswerError("这道题现在不用回答")
    if value is None or value == "" or value == []:
        if question.isRequired:
            raise AnswerError("此题必答")
        value = None
    else:
        value = question.check(value, comment)
    draft["answers"][name] = value
    if value is not None and OTHER in (value if isinstance(value, list) else [value]):
        draft["answers"][f"{name}-Comment"] = (comment or "").strip()[:200]
    else:
        draft["answers"].pop(f"{name}-Comment", None)
    draft["order"] = [n for n in draft["order"] if n != name] + [name]


def _prune(definition: Definition, draft: dict[str, Any]) -> None:
    """Drop answers to questions an earlier change of answer has hidden."""
    while True:
        visible = {q.name for _, q in shown(definition, draft["answers"])}
        hidden = [n for n in draft["order"] if n not in visible]
        if not hidden:
            return
        for name in hidden:
            draft["answers"].pop(name, None)
            draft["answers"].pop(f"{name}-Comment", None)
        draft["order"] = [n for n in draft["order"] if n in visible]


def back(*, session: Session, survey: Survey, rec: SurveyRecipient) -> Step:
    """上一题: forget the last answer, so that question is asked again."""
    check_ready(survey, rec)
    draft = _draft(rec)
    if draft["order"]:
        name = draft["order"].pop()
        draft["answers"].pop(name, None)
        draft["answers"].pop(f"{name}-Comment", None)
        rec.draft = draft
        session.flush()
    return step(parse_definition(survey.definition), draft["answers"])


def back_page(*, session: Session, survey: Survey, rec: SurveyRecipient) -> Step:
    """上一页 in the form: back to the page before the one the respondent is on."""
    definition = parse_definition(survey.definition)
    current = step(definition, answers_of(rec)).page
    while True:
        at = back(session=session, survey=survey, rec=rec)
        if at.page is not current or not _draft(rec)["order"]:
            return at


def _cells(rec: SurveyRecipient) -> dict[str, Any]:
    return {"industry_section": rec.industry_section, "park_id": rec.park_id, "size": rec.size}


def _screen_out(rec: SurveyRecipient) -> None:
    rec.status, rec.draft = R.screened_out, None


def complete(*, session: Session, survey: Survey, rec: SurveyRecipient, channel: str) -> str:
    """Write the response once every question shown is answered; returns the closing message."""
    check_ready(survey, rec)
    definition = parse_definition(survey.definition)
    answers = answers_of(rec)
    if step(definition, answers).question is not None:
        raise AnswerError("还有题目没有回答")
    if not quotas.take(session=session, survey=survey, cells=_cells(rec), answers=answers):
        _screen_out(rec)
        session.flush()
        return SCREENED
    now = utcnow()
    day = now.astimezone(ZoneInfo(get_settings().push_timezone)).date()
    kept = {k: v for k, v in answers.items() if v is not None}
    named = not survey.anonymous
    session.add(SurveyResponse(
        survey_id=survey.id, answers=kept, channel=channel, day=day, **_cells(rec),
        recipient_id=rec.id if named else None, follower_id=rec.follower_id if named else None,
        completed_at=now if named else None))
    counts.count(session=session, survey_id=survey.id, definition=definition, answers=kept, cells=_cells(rec))
    rec.status, rec.draft, rec.completed_on = R.completed, None, day
    session.flush()
    return THANKS
