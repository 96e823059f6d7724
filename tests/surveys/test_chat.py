"""`问卷` in the chat through the real webhook: one question a message, 跳过, 上一题, 取消 and 继续问卷,
WeChat's retries, and the form link for a question that does not fit a message."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import survey_chat
from core.db import session_scope, utcnow
from staff.models import Role
from surveys import respond, service
from surveys.models import SurveyRecipient, SurveyResponse
from surveys.schemas import SurveyCreate
from tests.bot.conftest import say
from tests.push.conftest import make_staff
from tests.surveys.conftest import DEFINITION

ME = "oSurveyChat000001"


def _open(definition=DEFINITION, title="惠企政策需求调查") -> int:
    with session_scope() as s:
        author, reviewer = make_staff(s, Role.editor), make_staff(s, Role.reviewer)
        survey = service.create(session=s, author=author, survey_in=SurveyCreate(
            title=title, introduction="请花两分钟告诉我们您的需求。", definition=definition, public=True,
            closes_at=utcnow() + timedelta(days=3)))
        service.submit(session=s, survey=survey)
        service.approve(session=s, survey=survey, reviewer=reviewer)
        service.open_survey(session=s, survey=survey)
        return survey.id


def test_a_survey_in_the_chat(client):
    assert say(client, ME, "问卷") == survey_chat.NONE_OPEN
    survey_id = _open()
    first = say(client, ME, "问卷")
    assert first.startswith("《惠企政策需求调查》\n请花两分钟") and "第 1/3 题：您是否了解该政策？" in first
    assert "请回复 1-2 之间的序号" in say(client, ME, "3")
    assert "第 2/4 题：您最需要哪些支持？（选答）" in say(client, ME, "1")
    assert "第 3/4 题：总体满意度" in say(client, ME, "4 人才引进")
    assert "第 2/4 题" in say(client, ME, "上一题")
    assert "最多选择 2 项" in say(client, ME, "1 2 3")
    assert "第 3/4 题" in say(client, ME, "1，2")
    again = say(client, ME, "5", msg_id=777)
    assert "第 4/4 题：其他建议" in again
    assert say(client, ME, "5", msg_id=777) == again  # WeChat's retry: same reply, applied once
    assert "已暂停问卷" in say(client, ME, "取消")
    assert "第 4/4 题" in say(client, ME, "继续问卷")
    assert say(client, ME, "跳过") == respond.THANKS
    with session_scope() as s:
        assert s.scalar(select(SurveyResponse.answers).where(SurveyResponse.survey_id == survey_id)) == {
            "know": "yes", "need": ["融资", "用工"], "score": 5}
        assert s.scalar(select(SurveyResponse.channel)) == "chat"
    assert say(client, ME, "问卷") == survey_chat.NONE_OPEN
    assert "没有未完成的问卷" in say(client, ME, "继续问卷")


def test_a_required_question_cannot_be_skipped_and_several_surveys_are_listed(client):
    _open(title="甲调查")
    _open(title="乙调查")
    listed = say(client, ME, "问卷")
    assert "1. 甲调查" in listed and "2. 乙调查" in listed
    assert "《乙调查》" in say(client, ME, "2")
    assert "此题必答" in say(client, ME, "跳过")


def test_a_matrix_question_is_answered_in_the_form(client):
    matrix = {"pages": [{"name": "p", "elements": [
        {"type": "rating", "name": "r", "title": "满意度", "isRequired": True},
        {"type": "matrix", "name": "m", "title": "各项服务评价", "rows": ["办事效率", "服务态度"],
         "columns": ["差", "中", "好"]}]}]}
    survey_id = _open(definition=matrix)
    say(client, ME, "问卷")
    reply = say(client, ME, "4")
    with session_scope() as s:
        token = s.scalar(select(SurveyRecipient.token).where(SurveyRecipient.survey_id == survey_id))
    assert "需要在网页中填写" in reply and reply.endswith(f"/s/{token}")
    page = client.get(f"/s/{token}")
    assert "各项服务评价" in page.text and 'value="4" checked' in page.text  # the chat's answer is kept
