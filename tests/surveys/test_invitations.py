"""Survey invitations and reminders through the push engine: real Celery workers and beat, real Redis,
SQLite and PostgreSQL, the sandbox. One message per recipient per round, each with its own form link;
reminders only to those not completed, capped, a gap apart, held in quiet hours, stopped by closing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.db import session_scope, utcnow
from push.models import Campaign, CampaignStatus, Delivery
from staff.models import Role
from subscriptions.models import Enterprise, EnterpriseBinding, Follower
from subscriptions.segments import Recipient
from surveys import invitations, service
from surveys.models import RecipientStatus, Survey, SurveyRecipient
from surveys.schemas import SurveyCreate
from tests.push.conftest import eng, engine_env, make_followers, make_park, make_staff, wait_for  # noqa: F401
from tests.surveys.conftest import DEFINITION

pytestmark = pytest.mark.slow


def _open_targeted(n: int, **values) -> tuple[int, list[str]]:
    """n followers in a new park (the first bound to a manufacturer) and an opened survey for them."""
    with session_scope() as s:
        park = make_park(s)
        openids = make_followers(s, park, n)
        first = s.scalar(select(Follower).where(Follower.openid == openids[0]))
        enterprise = Enterprise(credit_code=openids[0][-18:].upper().rjust(18, "9"), name="测试企业",
                                industry_code="13", park_id=park.id, size="小")
        s.add(enterprise)
        s.flush()
        s.add(EnterpriseBinding(follower_id=first.id, enterprise_id=enterprise.id))
        author, reviewer = make_staff(s, Role.editor), make_staff(s, Role.reviewer)
        survey = service.create(session=s, survey_in=SurveyCreate(
            title="惠企政策需求调查", definition=DEFINITION, closes_at=utcnow() + timedelta(days=20),
            segment_filter={"parks": [park.id]}, **values), author=author)
        service.submit(session=s, survey=survey)
        service.approve(session=s, survey=survey, reviewer=reviewer)
        service.open_survey(session=s, survey=survey)
    return survey.id, openids


def _round(survey_id: int, number: int) -> Campaign | None:
    with session_scope() as s:
        return s.scalar(select(Campaign).where(Campaign.survey_id == survey_id, Campaign.survey_round == number))


def _finished(survey_id: int, number: int, timeout: float = 90) -> Campaign:
    done = wait_for(lambda: (c := _round(survey_id, number)) is not None and c.status is CampaignStatus.finished
                    and c, timeout)
    assert done, _round(survey_id, number)
    return done


def _sent(state, openids) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in list(state.records):
        if r["kind"] == "template" and r["touser"] in set(openids):
            out.setdefault(r["touser"], []).append(r["body"])
    return out


def _recipients(survey_id: int) -> dict[str, SurveyRecipient]:
    with session_scope() as s:
        rows = s.execute(select(Follower.openid, SurveyRecipient).join(
            SurveyRecipient, SurveyRecipient.follower_id == Follower.id).where(SurveyRecipient.survey_id == survey_id))
        return {openid: rec for openid, rec in rows}


def _a_gap_later(survey_id: int, days: int = 3) -> None:
    """As if `days` had passed since the last round and every recipient's last message."""
    back = timedelta(days=days, minutes=1)
    with session_scope() as s:
        for c in s.scalars(select(Campaign).where(Campaign.survey_id == survey_id, Campaign.finished_at.is_not(None))):
            c.finished_at -= back
        for r in s.scalars(select(SurveyRecipient).where(SurveyRecipient.survey_id == survey_id)):
            r.invited_at -= back
            if r.last_reminded_at is not None:
                r.last_reminded_at -= back


def test_opening_invites_each_reachable_follower_once_with_their_own_form_link(eng):
    survey_id, openids = _open_targeted(40)
    campaign = _finished(survey_id, 0)
    sent = _sent(eng.state, openids)
    recipients = _recipients(survey_id)
    assert len(recipients) == 40 and len(sent) == 40 and {len(v) for v in sent.values()} == {1}
    for openid, (body,) in sent.items():
        assert body["url"] == f"http://policypush.test/s/{recipients[openid].token}"
        assert body["template_id"] == "SURVEY_TPL"
        assert body["data"]["thing1"]["value"] == "惠企政策需求调查" and "年" in body["data"]["time3"]["value"]
    first = recipients[openids[0]]
    assert (first.industry_section, first.size) == ("C", "小") and first.park_id is not None
    assert recipients[openids[1]].industry_section is None and recipients[openids[1]].park_id == first.park_id
    assert campaign.approved_hash == _survey(survey_id).approved_hash and campaign.targeted == 40
    with session_scope() as s:  # writing the same recipients again adds and changes nothing
        rows = [Recipient(r.follower_id, o) for o, r in recipients.items()]
        invitations.add_recipients(session=s, survey_id=survey_id, rows=rows)
    assert {o: r.token for o, r in _recipients(survey_id).items()} == {o: r.token for o, r in recipients.items()}


def _survey(survey_id: int) -> Survey:
    with session_scope() as s:
        return s.get(Survey, survey_id)


def test_reminders_go_to_those_not_completed_a_gap_apart_and_at_most_reminders_max(eng):
    survey_id, openids = _open_targeted(20, reminders_max=2, reminder_gap_days=3)
    _finished(survey_id, 0)
    with session_scope() as s:  # two answered
        s.execute(update(SurveyRecipient).where(SurveyRecipient.survey_id == survey_id, SurveyRecipient.follower_id.in_(
            select(Follower.id).where(Follower.openid.in_(openids[:2])))).values(status=RecipientStatus.completed))
    wait_for(lambda: False, 3)  # several beat ticks: the gap has not passed, no reminder
    assert _round(survey_id, 1) is None
    _a_gap_later(survey_id)
    _finished(survey_id, 1)
    sent = _sent(eng.state, openids)
    assert {o: len(v) for o, v in sent.items()} == {o: 1 if o in openids[:2] else 2 for o in openids}
    recipients = _recipients(survey_id)
    assert recipients[openids[5]].reminders_sent == 1 and recipients[openids[5]].last_reminded_at is not None
    assert recipients[openids[0]].reminders_sent == 0
    assert sent[openids[5]][1]["url"] == sent[openids[5]][0]["url"]  # the same form, resumed
    wait_for(lambda: False, 3)
    assert _round(survey_id, 2) is None  # round 1 finished just now
    _a_gap_later(survey_id)
    _finished(survey_id, 2)
    _a_gap_later(survey_id)
    wait_for(lambda: False, 3)
    assert _round(survey_id, 3) is None  # reminders_max
    sent = _sent(eng.state, openids)
    assert {o: len(v) for o, v in sent.items()} == {o: 1 if o in openids[:2] else 3 for o in openids}
    assert {r.reminders_sent for o, r in _recipients(survey_id).items() if o not in openids[:2]} == {2}


def test_a_round_waits_out_quiet_hours_and_closing_the_survey_stops_it(eng):
    survey_id, openids = _open_targeted(10, reminders_max=3, reminder_gap_days=1)
    _finished(survey_id, 0)
    _a_gap_later(survey_id, 1)
    with session_scope() as s:  # the reminder round as the tick makes it, in a quiet window
        survey = s.get(Survey, survey_id)
        campaign = invitations._round_campaign(survey, 1, utcnow())
        campaign.quiet_hours = "00:00-23:59"
        s.add(campaign)
    cid = campaign.id
    with session_scope() as s:
        assert wait_for(lambda: s.get(Campaign, cid, populate_existing=True).targeted == 10, 30)
    wait_for(lambda: False, 3)
    assert {len(v) for v in _sent(eng.state, openids).values()} == {1}  # quiet hours: nothing yet
    with session_scope() as s:
        service.close(session=s, survey=s.get(Survey, survey_id))
    assert wait_for(lambda: _round(survey_id, 1).status is CampaignStatus.cancelled, 30)
    with session_scope() as s:
        s.execute(update(Campaign).where(Campaign.id == cid).values(quiet_hours=""))
    _a_gap_later(survey_id, 1)
    wait_for(lambda: False, 3)
    assert {len(v) for v in _sent(eng.state, openids).values()} == {1}  # closed: no reminder at all
    assert _round(survey_id, 2) is None
    with session_scope() as s:
        skipped = s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.campaign_id == cid, Delivery.reason == "cancelled"))
    assert skipped == 10


def test_staff_cannot_make_a_survey_campaign_by_hand():
    from pydantic import ValidationError

    from push.schemas import CampaignCreate

    with pytest.raises(ValidationError, match="问卷邀请随问卷开始收集自动发送"):
        CampaignCreate(title="x", kind="survey", segment_filter={})


def test_the_feedback_goes_after_approval_to_the_respondents_who_asked_for_it(eng):
    from push import flows
    from push import service as campaigns
    from push.exceptions import NotReady
    from push.models import CampaignKind
    from push.schemas import CampaignCreate
    from surveys import feedback

    survey_id, openids = _open_targeted(6)
    _finished(survey_id, 0)
    with session_scope() as s:
        recs = {o: r for o, r in s.execute(select(Follower.openid, SurveyRecipient).join(
            SurveyRecipient, SurveyRecipient.follower_id == Follower.id).where(SurveyRecipient.survey_id == survey_id))}
        for openid in openids[:3]:
            recs[openid].status = RecipientStatus.completed
        recs[openids[0]].wants_feedback = recs[openids[1]].wants_feedback = True
        recs[openids[4]].wants_feedback = True  # not completed: not sent
        survey = s.get(Survey, survey_id)
        author, reviewer = make_staff(s, Role.editor), make_staff(s, Role.reviewer)
        campaign = campaigns.create(session=s, campaign_in=CampaignCreate(
            title="采纳情况", kind=CampaignKind.feedback, survey_id=survey_id), author=author)
        with pytest.raises(NotReady, match="尚未发布"):
            campaigns.submit(session=s, campaign=campaign, require_test_send=False)
        feedback.write(session=s, survey=survey, adopted="增设融资对接会", not_adopted="")
        feedback.publish(session=s, survey=survey)
        campaigns.submit(session=s, campaign=campaign, require_test_send=False)
        campaigns.approve(session=s, campaign=campaign, reviewer=reviewer)
        campaigns.launch(session=s, campaign=campaign)
    flows.after_launch(campaign)
    assert wait_for(lambda: _status(campaign.id) == "finished", 60)
    before = {o: len(v) for o, v in _sent(eng.state, openids).items()}
    assert before == {o: 2 if o in openids[:2] else 1 for o in openids}
    body = _sent(eng.state, openids[:1])[openids[0]][1]
    assert body["template_id"] == "POLICY_NOTICE_TPL" and "采纳情况" in body["data"]["thing1"]["value"]
    assert body["url"].startswith("http://policypush.test/t/")
    with session_scope() as s:
        assert s.get(Campaign, campaign.id).targeted == 2


def test_an_edit_of_the_published_feedback_after_approval_sends_the_campaign_back(eng):
    from push import service as campaigns
    from push.exceptions import WrongState
    from push.models import CampaignKind
    from push.schemas import CampaignCreate
    from surveys import feedback

    survey_id, openids = _open_targeted(2)
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        rec = s.scalar(select(SurveyRecipient).where(SurveyRecipient.survey_id == survey_id)) or SurveyRecipient(
            survey_id=survey_id, follower_id=s.scalar(select(Follower.id).where(Follower.openid == openids[0])))
        rec.status, rec.wants_feedback = RecipientStatus.completed, True
        s.add(rec)
        feedback.write(session=s, survey=survey, adopted="增设融资对接会", not_adopted="")
        feedback.publish(session=s, survey=survey)
        author, reviewer = make_staff(s, Role.editor), make_staff(s, Role.reviewer)
        campaign = campaigns.create(session=s, campaign_in=CampaignCreate(
            title="采纳情况", kind=CampaignKind.feedback, survey_id=survey_id), author=author)
        campaigns.submit(session=s, campaign=campaign, require_test_send=False)
        campaigns.approve(session=s, campaign=campaign, reviewer=reviewer)
        feedback.write(session=s, survey=survey, adopted="改为：不再举办对接会", not_adopted="")
        with pytest.raises(WrongState):
            campaigns.launch(session=s, campaign=campaign)
        assert campaign.status is CampaignStatus.draft


def _status(campaign_id: int) -> str:
    with session_scope() as s:
        return str(s.get(Campaign, campaign_id).status)
