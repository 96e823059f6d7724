"""Answering: skip logic, an answer that ends the survey, resume, 上一题, completion once, anonymity,
quotas, and the lifecycle's approval hash."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from core.db import utcnow
from push.exceptions import NotAllowed, NotReady, WrongState
from surveys import respond, service
from surveys.definition import AnswerError
from surveys.models import RecipientStatus, SurveyRecipient, SurveyResponse, SurveyStatus
from surveys.schemas import SurveyCreate, SurveyUpdate
from staff import service as staff_service
from staff.models import Role
from tests.push.conftest import make_staff
from tests.surveys.conftest import DEFINITION, make_follower, open_survey


def names(step) -> str | None:
    return step.question.name if step.question else None


def test_skip_logic_and_a_completing_answer(session, people):
    survey = open_survey(session, people)
    rec = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    assert names(respond.step(respond.parse_definition(survey.definition), {})) == "know"
    # 不了解 ends the survey at once: nothing else is shown
    assert respond.answer(session=session, survey=survey, rec=rec, name="know", value="no").question is None
    assert respond.complete(session=session, survey=survey, rec=rec, channel="form") == respond.THANKS
    response = session.scalar(select(SurveyResponse))
    assert response.answers == {"know": "no"}


def test_a_shown_question_follows_its_condition_and_a_changed_answer_drops_hidden_ones(session, people):
    survey = open_survey(session, people)
    rec = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    assert names(respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")) == "need"
    nxt = respond.answer(session=session, survey=survey, rec=rec, name="need", value=["other", "融资"],
                         comment="出口")
    assert names(nxt) == "score" and (nxt.number, nxt.total) == (3, 4)
    assert respond.answers_of(rec)["need-Comment"] == "出口"
    with pytest.raises(AnswerError, match="这道题现在不用回答"):
        respond.answer(session=session, survey=survey, rec=rec, name="missing", value="1")
    respond.answer(session=session, survey=survey, rec=rec, name="know", value="no")
    assert respond.answers_of(rec) == {"know": "no"}  # need and its comment went with the change


def test_required_optional_back_and_resume(session, people):
    survey = open_survey(session, people)
    follower = make_follower(session)
    rec = respond.recipient(session=session, survey=survey, follower=follower)
    with pytest.raises(AnswerError, match="此题必答"):
        respond.answer(session=session, survey=survey, rec=rec, name="know", value=None)
    respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")
    assert names(respond.answer(session=session, survey=survey, rec=rec, name="need", value=None)) == "score"
    assert names(respond.back(session=session, survey=survey, rec=rec)) == "need"  # 上一题
    respond.answer(session=session, survey=survey, rec=rec, name="need", value=["用工"])
    session.commit()
    session.expire_all()
    again = respond.recipient(session=session, survey=survey, follower=follower)  # resumed later
    assert again.id == rec.id and again.status is RecipientStatus.started
    assert names(respond.step(respond.parse_definition(survey.definition), respond.answers_of(again))) == "score"
    with pytest.raises(AnswerError, match="还有题目"):
        respond.complete(session=session, survey=survey, rec=again, channel="chat")


def _finish(session, survey, rec, score=5):
    respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")
    respond.answer(session=session, survey=survey, rec=rec, name="need", value=["融资"])
    respond.answer(session=session, survey=survey, rec=rec, name="score", value=score)
    respond.answer(session=session, survey=survey, rec=rec, name="advice", value=None)
    return respond.complete(session=session, survey=survey, rec=rec, channel="form")


def test_an_anonymous_response_holds_nothing_that_leads_back(session, people):
    survey = open_survey(session, people, anonymous=True)
    follower = make_follower(session)
    rec = respond.recipient(session=session, survey=survey, follower=follower)
    _finish(session, survey, rec)
    response = session.scalar(select(SurveyResponse))
    columns = {c.key for c in inspect(SurveyResponse).columns}
    assert response.recipient_id is None and response.follower_id is None and response.completed_at is None
    assert not any(c in columns for c in ("token", "openid", "enterprise_id"))
    values = {str(getattr(response, c)) for c in columns}
    assert rec.token not in values and follower.openid not in str(response.answers)
    assert not response.id.isdigit() and len(response.id) == 32  # no sequence to line up with recipients
    assert (response.industry_section, response.size) == ("C", "小")  # cells for cross-tabs
    assert rec.status is RecipientStatus.completed and rec.draft is None
    with pytest.raises(respond.Refused, match="已提交过"):
        respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")


def test_a_named_response_keeps_who_and_when(session, people):
    survey = open_survey(session, people, anonymous=False)
    follower = make_follower(session)
    rec = respond.recipient(session=session, survey=survey, follower=follower)
    _finish(session, survey, rec)
    response = session.scalar(select(SurveyResponse))
    assert (response.recipient_id, response.follower_id) == (rec.id, follower.id)
    assert response.completed_at is not None


def test_only_invited_followers_answer_a_targeted_survey(session, people):
    survey = open_survey(session, people, public=False, segment_filter={"sizes": ["小"]})
    assert respond.recipient(session=session, survey=survey, follower=make_follower(session)) is None
    assert respond.open_for(session=session, follower=make_follower(session)) == []


def test_a_closed_survey_takes_no_answers(session, people):
    survey = open_survey(session, people)
    rec = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    service.close(session=session, survey=survey)
    with pytest.raises(respond.Refused, match="已结束"):
        respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")


def test_quotas_stop_a_full_cell_and_the_total(session, people):
    survey = open_survey(session, people, quotas=[{"cap": 2}, {"cap": 1, "question": "know", "value": "yes"}])
    first = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    assert _finish(session, survey, first) == respond.THANKS
    second = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    with pytest.raises(respond.Refused, match="名额已满"):  # screened by its answer, early
        respond.answer(session=session, survey=survey, rec=second, name="know", value="yes")
    assert second.status is RecipientStatus.screened_out
    third = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    respond.answer(session=session, survey=survey, rec=third, name="know", value="no")
    assert respond.complete(session=session, survey=survey, rec=third, channel="form") == respond.THANKS
    fourth = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    with pytest.raises(respond.Refused, match="名额已满"):  # the total is reached
        respond.answer(session=session, survey=survey, rec=fourth, name="know", value="no")
    assert len(session.scalars(select(SurveyResponse)).all()) == 2


def test_the_author_cannot_approve_and_an_edit_after_approval_needs_review_again(session, people):
    admin = make_staff(session, Role.admin)
    survey = service.create(session=session, author=admin, survey_in=SurveyCreate(
        title="调查", definition=DEFINITION, closes_at=utcnow() + timedelta(days=3), public=True))
    service.submit(session=session, survey=survey)
    with pytest.raises(NotAllowed, match="不能审核自己"):
        service.approve(session=session, survey=survey, reviewer=admin)
    with pytest.raises(NotAllowed, match="仅审核人员"):
        service.approve(session=session, survey=survey, reviewer=people["author"])
    service.approve(session=session, survey=survey, reviewer=people["reviewer"])
    assert survey.approved_hash == service.definition_hash(survey)
    service.update(session=session, survey=survey, survey_in=SurveyUpdate(reminders_max=4))
    assert survey.status is SurveyStatus.draft and survey.approved_hash is None
    with pytest.raises(WrongState):
        service.open_survey(session=session, survey=survey)


def test_a_change_behind_the_services_back_stops_opening(session, people):
    survey = service.create(session=session, author=people["author"], survey_in=SurveyCreate(
        title="调查", definition=DEFINITION, closes_at=utcnow() + timedelta(days=3), public=True))
    service.submit(session=session, survey=survey)
    service.approve(session=session, survey=survey, reviewer=people["reviewer"])
    survey.anonymous = False
    with pytest.raises(NotAllowed, match="重新提交审核"):
        service.open_survey(session=session, survey=survey)


def test_once_answered_only_wording_changes(session, people):
    survey = open_survey(session, people)
    _finish(session, survey, respond.recipient(session=session, survey=survey, follower=make_follower(session)))
    reworded = {**DEFINITION, "pages": [{**DEFINITION["pages"][0], "title": "基本情况"}, DEFINITION["pages"][1]]}
    assert service.update(session=session, survey=survey, survey_in=SurveyUpdate(definition=reworded)) == [
        "definition"]
    assert survey.status is SurveyStatus.open and survey.approved_hash == service.definition_hash(survey)
    restructured = {**DEFINITION, "pages": DEFINITION["pages"][:1]}
    with pytest.raises(WrongState, match="只能修改文字"):
        service.update(session=session, survey=survey, survey_in=SurveyUpdate(definition=restructured))
    with pytest.raises(WrongState, match="只能修改文字"):
        service.update(session=session, survey=survey, survey_in=SurveyUpdate(anonymous=False))


@pytest.mark.parametrize("values, message", [
    ({"public": False}, "未选择调查对象"),
    ({"closes_at": utcnow() - timedelta(minutes=1)}, "截止时间已过"),
])
def test_submit_names_what_is_missing(session, people, values, message):
    survey = service.create(session=session, author=people["author"], survey_in=SurveyCreate(
        title="调查", definition=DEFINITION, **{"closes_at": utcnow() + timedelta(days=3), "public": True,
                                              **values}))
    with pytest.raises(NotReady, match=message):
        service.submit(session=session, survey=survey)


def test_a_quota_naming_a_missing_question_is_refused(session, people):
    with pytest.raises(NotReady, match="不存在"):
        service.create(session=session, author=people["author"], survey_in=SurveyCreate(
            title="调查", definition=DEFINITION, closes_at=utcnow() + timedelta(days=3),
            quotas=[{"cap": 3, "question": "nope", "value": "x"}]))


def test_a_completion_that_finds_its_quota_taken_meanwhile_is_screened_out(session, people):
    survey = open_survey(session, people, quotas=[{"cap": 1}])
    first, second = (respond.recipient(session=session, survey=survey, follower=make_follower(session))
                     for _ in range(2))
    for rec in (first, second):  # both answer while the quota is open
        respond.answer(session=session, survey=survey, rec=rec, name="know", value="no")
    assert respond.complete(session=session, survey=survey, rec=first, channel="form") == respond.THANKS
    assert respond.complete(session=session, survey=survey, rec=second, channel="chat") == respond.SCREENED
    assert second.status is RecipientStatus.screened_out
    assert len(session.scalars(select(SurveyResponse)).all()) == 1


def test_surveys_past_their_closing_time_are_closed(session, people):
    survey = open_survey(session, people)
    rec = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    survey.closes_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(respond.Refused, match="已结束"):  # refused at once, before the scheduler runs
        respond.answer(session=session, survey=survey, rec=rec, name="know", value="yes")
    assert service.close_due(session=session, now=utcnow()) == [survey.id]
    assert survey.status is SurveyStatus.closed and service.close_due(session=session, now=utcnow()) == []


def test_an_account_the_author_created_cannot_approve(session, people):
    admin = make_staff(session, Role.admin)
    puppet = staff_service.create_user(session=session, username="puppet-reviewer", password="Quiet-Harbour-2026",
                                       role=Role.reviewer, created_by=admin)
    survey = service.create(session=session, author=admin, survey_in=SurveyCreate(
        title="调查", definition=DEFINITION, closes_at=utcnow() + timedelta(days=3), public=True))
    service.submit(session=session, survey=survey)
    with pytest.raises(NotAllowed, match="撰写人创建的账号"):
        service.approve(session=session, survey=survey, reviewer=puppet)
    service.approve(session=session, survey=survey, reviewer=people["reviewer"])
