"""考核 over HTTP: the notice's item 23 figures of a year by month (China time) and by issuing department,
from the real tables on both backends, on the page and in its .xlsx."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
from sqlalchemy import update

from bot.models import AskedQuestion, AskOutcome, HandoverReason, Question, QuestionStatus
from core.db import session_scope
from policies.models import Policy
from push.models import Campaign, Delivery, DeliveryStatus
from staff.models import Role
from subscriptions.models import Follower
from surveys.models import RecipientStatus, Survey, SurveyRecipient
from tests.push.conftest import approved_campaign, make_followers, make_park, make_policy
from tests.push.conftest import make_staff as make_staff_user
from tests.surveys.conftest import open_survey


def at(month: int, day: int, hour: int = 4) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def world() -> None:
    """2025: March: two policies of 市发改委, one with its interpretation complete; a campaign for the complete
    one sent to 4 followers, 1 opened; a survey with 4 invited, 1 completed. 31 Jan 17:00 UTC is already
    1 February in China: a question then counts in February, answered by staff 3 hours later."""
    with session_scope() as s:
        park = make_park(s)
        openids = make_followers(s, park, 4)
        complete, partial = make_policy(s), make_policy(s, complete=False)
        for p in (complete, partial):
            p.issuer, p.issued_on = "市发改委", at(3, 10).date()
        author, reviewer = make_staff_user(s, Role.editor), make_staff_user(s, Role.reviewer)
        campaign = approved_campaign(s, park=park, author=author, reviewer=reviewer, policy_id=complete.id)
        campaign.launched_at = at(3, 12)
        followers = s.query(Follower).filter(Follower.openid.in_(openids)).all()
        s.add_all(Delivery(campaign_id=campaign.id, follower_id=f.id, openid=f.openid, client_msg_id=f"m{f.id}",
                           status=DeliveryStatus.sent, sent_at=at(3, 12), opened_at=at(3, 13) if n == 0 else None)
                  for n, f in enumerate(followers))
        survey = open_survey(s, {"author": author, "reviewer": reviewer}, policy_id=complete.id)
        s.execute(update(Survey).where(Survey.id == survey.id).values(opened_at=at(3, 15)))
        s.add_all(SurveyRecipient(survey_id=survey.id, follower_id=f.id,
                                  status=RecipientStatus.completed if n == 0 else RecipientStatus.invited)
                  for n, f in enumerate(followers))
        s.add_all([AskedQuestion(text="问", normalized="问", outcome=AskOutcome.answered, created_at=at(1, 31, 17)),
                   AskedQuestion(text="人工", normalized="人工", outcome=AskOutcome.asked_for_person,
                                 created_at=at(1, 31, 17)),
                   AskedQuestion(text="问", normalized="问", outcome=AskOutcome.answered, created_at=at(1, 31, 15))])
        s.add(Question(follower_id=followers[0].id, text="人工", reason=HandoverReason.asked_for_person,
                       status=QuestionStatus.answered, answer="答", created_at=at(1, 31, 17),
                       answered_at=at(1, 31, 20)))


def test_the_year_by_month_and_department_on_the_page_and_in_the_workbook(client, as_role):
    world()
    as_role(Role.analyst)
    page = client.get("/console/assessment", params={"year": 2025})
    assert page.status_code == 200 and "政务公开绩效考核 · 2025 年" in page.text
    assert page.text.count("data-chart=") == 3 and "市发改委" in page.text

    wb = openpyxl.load_workbook(io.BytesIO(client.get("/console/assessment/export", params={"year": 2025}).content))
    months = list(wb["按月"].values)
    heading = months[0]
    row = {m[0]: dict(zip(heading, m, strict=True)) for m in months[1:]}
    assert (row["2025-01"]["咨询"], row["2025-02"]["咨询"], row["2025-02"]["转人工"]) == (1, 2, 1)
    assert (row["2025-02"]["人工已答"], row["2025-02"]["人工答复用时中位数（小时）"]) == (1, 3)
    march = row["2025-03"]
    assert (march["发布政策"], march["解读齐全"], march["解读齐全率"]) == (2, 1, "50.0%")
    assert (march["推送次数"], march["送达人次"], march["打开人次"], march["打开率"]) == (1, 4, 1, "25.0%")
    assert (march["问卷"], march["邀请人数"], march["完成人数"], march["回收率"]) == (1, 4, 1, "25.0%")
    assert row["全年"]["发布政策"] == 2 and row["2025-04"]["打开率"] == "—"
    [department] = list(wb["按发文机关"].values)[1:]
    assert department[:4] == ("市发改委", 2, 1, "50.0%")


def test_a_year_out_of_range_is_refused_and_an_empty_year_reads_as_none(client, as_role):
    as_role(Role.reviewer)
    assert client.get("/console/assessment", params={"year": 99999}).status_code == 422
    page = client.get("/console/assessment", params={"year": 2001}).text
    assert "本年度暂无数据" in page
    with session_scope() as s:
        assert s.query(Policy).count() == 0 and s.query(Campaign).count() == 0
