"""工作台 over HTTP: today's counts, open hand-overs by how long they waited (masked for analysts), open
surveys with their response rates, and the 30 days' charts, from the real tables on both backends."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.models import AskedQuestion, AskOutcome, HandoverReason, Question
from core.db import session_scope, utcnow
from staff.models import Role
from subscriptions.models import Follower
from surveys.models import RecipientStatus, SurveyRecipient
from tests.push.conftest import make_followers, make_park
from tests.push.conftest import make_staff as make_staff_user
from tests.surveys.conftest import open_survey


def charts(html: str) -> list[dict]:
    return [json.loads(c.replace("&#34;", '"')) for c in re.findall(r"data-chart='([^']+)'", html)]


def test_the_dashboard_counts_waits_surveys_and_the_last_30_days(client, as_role):
    now = utcnow()
    with session_scope() as s:
        park = make_park(s)
        make_followers(s, park, 2)
        followers = s.query(Follower).all()
        s.add_all([Question(follower_id=followers[0].id, text="我的电话13800138000，补贴怎么领",
                            reason=HandoverReason.asked_for_person, created_at=now - timedelta(minutes=10)),
                   Question(follower_id=followers[1].id, text="等了很久", reason=HandoverReason.low_confidence,
                            created_at=now - timedelta(days=4))])
        s.add_all([AskedQuestion(text="问", normalized="问", outcome=AskOutcome.answered, created_at=now),
                   AskedQuestion(text="问", normalized="问", outcome=AskOutcome.answered,
                                 created_at=now - timedelta(days=40))])
        survey = open_survey(s, {"author": make_staff_user(s, Role.editor),
                                 "reviewer": make_staff_user(s, Role.reviewer)}, title="用工需求调查")
        s.add_all(SurveyRecipient(survey_id=survey.id, follower_id=f.id,
                                  status=RecipientStatus.completed if n == 0 else RecipientStatus.invited)
                  for n, f in enumerate(followers))

    as_role(Role.analyst)
    page = client.get("/console/").text
    ages = page.split('aria-label="待人工答复按等待时间"')[1].split("</table>")[0]
    assert re.findall(r">(\d+)</td>", ages) == ["1", "0", "0", "0", "1"]
    assert "138****8000" in page and "13800138000" not in page  # masked for analysts
    assert "用工需求调查" in page and ">50%<" in page
    questions, messages = charts(page)
    assert len(questions["rows"]) == 30 and questions["series"][0]["data"][-1] == 1
    assert sum(questions["series"][0]["data"]) == 1  # the question 40 days ago is outside
    assert messages["type"] == "line"

    as_role(Role.editor)
    assert "13800138000" in client.get("/console/").text
