"""问卷 pages over HTTP: the form's inline errors (every definition problem, in Chinese), upload and
download of SurveyJS JSON, the review by a second person, opening and closing, the live response rate,
the results with their charts, and the server refusing what the role may not do."""
from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from openpyxl import load_workbook

from core.db import session_scope, utcnow
from push import service as push_service
from push.models import CampaignKind
from staff.models import Role
from staff.service import get_by_username
from surveys import feedback, respond, service
from surveys.models import Survey, SurveyStatus
from surveys.schemas import SurveyCreate
from tests.console.conftest import csrf_of, sign_in
from tests.surveys.conftest import DEFINITION, make_follower
from tests.surveys.test_results import _respond

S = SurveyStatus


def form_data(token: str, **values) -> dict:
    return {"csrf_token": token, "title": "惠企政策需求调查", "purpose": "consult", "audience": "public",
            "anonymous": "1", "closes_at": "2030-05-01T18:00", "quotas": "[]", "reminders_max": "2",
            "reminder_gap_days": "3", "definition": json.dumps(DEFINITION, ensure_ascii=False)} | values


def make_survey(author_username: str, status: SurveyStatus = S.submitted, reviewer_username: str = "") -> int:
    with session_scope() as s:
        author = get_by_username(session=s, username=author_username)
        survey = service.create(session=s, author=author, survey_in=SurveyCreate(
            title="需求调查", definition=DEFINITION, public=True, closes_at=utcnow() + timedelta(days=7)))
        if status is not S.draft:
            service.submit(session=s, survey=survey)
        if status in (S.approved, S.open):
            reviewer = get_by_username(session=s, username=reviewer_username)
            service.approve(session=s, survey=survey, reviewer=reviewer)
        if status is S.open:
            service.open_survey(session=s, survey=survey)
        return survey.id


def status_of(survey_id: int) -> SurveyStatus:
    with session_scope() as s:
        return s.get(Survey, survey_id).status


def test_a_survey_is_saved_as_draft_with_its_closing_time_in_china_time(client, as_role):
    as_role(Role.editor)
    token = csrf_of(client.get("/console/surveys/new").text)
    r = client.post("/console/surveys/new", data=form_data(token), follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "问卷草稿已保存" in page and "草稿" in page and "2030-05-01 18:00" in page and "提交审核" in page
    with session_scope() as s:
        (survey,) = service.list_surveys(session=s)
        assert survey.closes_at.isoformat() == "2030-05-01T10:00:00+00:00" and survey.public and survey.anonymous
        assert survey.definition["pages"][0]["elements"][1]["choices"][0] == {"value": "融资", "text": "融资"}


def test_every_definition_problem_shows_under_the_editor_in_chinese_and_nothing_is_stored(client, as_role):
    as_role(Role.editor)
    token = csrf_of(client.get("/console/surveys/new").text)
    bad = {"pages": [{"name": "p1", "elements": [
        {"type": "slider", "name": "q1", "title": "?"},
        {"type": "radiogroup", "name": "1bad", "title": "选择", "choices": ["甲"]}]}]}
    r = client.post("/console/surveys/new", data=form_data(token, title="", definition=json.dumps(bad),
                                                           closes_at="下周五", quotas="[{"))
    assert r.status_code == 422
    problems = re.search(r'data-testid="definition-problems">(.*?)</ul>', r.text, re.S).group(1)
    assert "不支持的题型" in problems and "问题名只能用字母" in problems and "项数太少" in problems
    assert "不能为空" in r.text and "时间格式有误" in r.text and "配额不是有效的 JSON" in r.text
    assert "slider" in r.text  # what was typed stays in the editor
    r = client.post("/console/surveys/new", data=form_data(token, definition="{\"pages\": ["))
    assert r.status_code == 422 and "问卷定义不是有效的 JSON：第 1 行" in r.text
    with session_scope() as s:
        assert service.list_surveys(session=s) == []


def test_an_uploaded_surveyjs_file_replaces_the_editor_and_downloads_back(client, as_role):
    as_role(Role.editor)
    token = csrf_of(client.get("/console/surveys/new").text)
    upload = {"definition_file": ("survey.json", json.dumps(DEFINITION, ensure_ascii=False).encode(), "application/json")}
    r = client.post("/console/surveys/new", data=form_data(token, definition="not json"), files=upload,
                    follow_redirects=False)
    assert r.status_code == 303
    survey_id = int(r.headers["location"].rsplit("/", 1)[1])
    download = client.get(f"/console/surveys/{survey_id}/definition.json")
    assert download.headers["content-disposition"] == f'attachment; filename="survey-{survey_id}.json"'
    assert download.json()["triggers"] == DEFINITION["triggers"]
    bad = {"definition_file": ("survey.json", b"\xff\xfe{", "application/json")}
    r = client.post("/console/surveys/new", data=form_data(token), files=bad)
    assert r.status_code == 422 and "不是 UTF-8 编码的 JSON" in r.text


def test_the_list_filters_by_status_and_pages_by_id(client, as_role):
    editor = as_role(Role.editor)
    draft, submitted = make_survey(editor, S.draft), make_survey(editor, S.submitted)
    page = client.get("/console/surveys?status=submitted").text
    assert f'/console/surveys/{submitted}"' in page and f'/console/surveys/{draft}"' not in page
    everything = client.get("/console/surveys?status=")  # 全部状态, as the form sends it
    assert everything.status_code == 200 and f'/console/surveys/{draft}"' in everything.text
    fragment = client.get("/console/surveys?status=draft", headers={"HX-Request": "true", "HX-Target": "survey-rows"})
    assert "<nav" not in fragment.text and f'/console/surveys/{draft}"' in fragment.text
    older = client.get(f"/console/surveys?before_id={submitted}").text
    assert f'/console/surveys/{draft}"' in older and f'/console/surveys/{submitted}"' not in older


def test_the_reviewer_sees_what_is_pinned_rejects_with_a_reason_then_approves(client, as_role):
    editor = as_role(Role.editor)
    survey_id = make_survey(editor)
    page = client.get(f"/console/surveys/{survey_id}").text
    assert "/approve" not in page  # the author may not review
    as_role(Role.reviewer)
    page = client.get(f"/console/surveys/{survey_id}").text
    pinned = re.search(r'data-testid="pinned-definition"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert "您是否了解该政策？" in pinned and "{know} = &#39;no&#39;" in pinned
    token = csrf_of(page)
    r = client.post(f"/console/surveys/{survey_id}/reject", data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 422 and "请填写退回理由" in r.text and status_of(survey_id) is S.submitted
    r = client.post(f"/console/surveys/{survey_id}/reject", data={"csrf_token": token, "reason": "请补充说明"},
                    follow_redirects=False)
    assert r.status_code == 303 and status_of(survey_id) is S.draft
    client.cookies.clear()
    sign_in(client, editor)
    page = client.get(f"/console/surveys/{survey_id}").text
    assert "审核退回：请补充说明" in page
    client.post(f"/console/surveys/{survey_id}/submit", data={"csrf_token": csrf_of(page)})
    as_role(Role.reviewer)
    page = client.get(f"/console/surveys/{survey_id}").text
    r = client.post(f"/console/surveys/{survey_id}/approve", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and status_of(survey_id) is S.approved
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        assert survey.approved_hash == service.definition_hash(survey)
        assert client.get(f"/console/surveys/{survey_id}").text.count(survey.approved_hash) == 1


def test_the_author_may_not_approve_even_by_a_forged_post_nor_an_analyst_act(client, as_role):
    admin = as_role(Role.admin)
    survey_id = make_survey(admin)
    token = csrf_of(client.get(f"/console/surveys/{survey_id}").text)
    r = client.post(f"/console/surveys/{survey_id}/approve", data={"csrf_token": token})
    assert r.status_code == 403 and "不能审核自己创建的问卷" in r.text and status_of(survey_id) is S.submitted
    as_role(Role.analyst)
    page = client.get(f"/console/surveys/{survey_id}").text
    assert "退回修改" not in page and "/edit" not in page and "新建问卷" not in client.get("/console/surveys").text
    token = csrf_of(page)
    for action in ("approve", "reject", "submit", "open", "close"):
        r = client.post(f"/console/surveys/{survey_id}/{action}", data={"csrf_token": token, "reason": "x"})
        assert r.status_code == 403, action
    assert client.get("/console/surveys/new").status_code == 403
    assert status_of(survey_id) is S.submitted


def test_a_post_without_the_csrf_token_is_refused(client, as_role):
    as_role(Role.editor)
    r = client.post("/console/surveys/new", data=form_data("forged"))
    assert r.status_code == 403 and "CSRF" in r.text
    with session_scope() as s:
        assert service.list_surveys(session=s) == []


def test_open_shows_the_live_rate_then_results_with_charts_and_the_export(client, as_role):
    reviewer = as_role(Role.reviewer)
    editor = as_role(Role.editor)
    survey_id = make_survey(editor, S.approved, reviewer)
    page = client.get(f"/console/surveys/{survey_id}").text
    r = client.post(f"/console/surveys/{survey_id}/open", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and status_of(survey_id) is S.open
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        for answers in ({"know": "yes", "need": ["融资"], "score": 5, "advice": "审批太慢"},
                        {"know": "yes", "need": ["融资"], "score": 4, "advice": None}, {"know": "no"}):
            _respond(s, survey, make_follower(s), answers)
    rate = client.get(f"/console/surveys/{survey_id}/rate", headers={"HX-Request": "true"}).text
    assert 'hx-trigger="every 5s"' in rate and 'data-testid="responses">3<' in rate
    page = client.get(f"/console/surveys/{survey_id}/results").text
    charts = [json.loads(c.replace("&#34;", '"').replace("&#39;", "'"))
              for c in re.findall(r"data-survey-chart='([^']*)'", page)]
    know = next(c for c in charts if c.get("labels") == ["了解", "不了解"])
    assert know["values"] == [2, 1]
    assert any(c.get("labels") == ["1", "2", "3", "4", "5"] and c["values"] == [0, 0, 0, 1, 1] for c in charts)
    assert 'data-testid="total">3<' in page and "平均 4.5" in page
    assert "审批 1" in re.search(r'data-testid="terms-advice">(.*?)</p>', page, re.S).group(1)
    xlsx = client.get(f"/console/surveys/{survey_id}/export.xlsx")
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "答卷"
    assert "采纳情况</th><td>尚未发布" in client.get(f"/console/surveys/{survey_id}").text
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        feedback.write(session=s, survey=survey, adopted="简化兑现流程", not_adopted="")
        feedback.publish(session=s, survey=survey)
    assert f'<a href="/s/feedback/{survey_id}">已于' in client.get(f"/console/surveys/{survey_id}").text
    r = client.post(f"/console/surveys/{survey_id}/close", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and status_of(survey_id) is S.closed
    assert "hx-trigger" not in client.get(f"/console/surveys/{survey_id}/rate").text


def test_the_phone_preview_draws_every_page_read_only(client, as_role):
    editor = as_role(Role.editor)
    survey_id = make_survey(editor, S.draft)
    preview = client.get(f"/console/surveys/{survey_id}/preview").text
    assert "<fieldset disabled" in preview and "1. 您是否了解该政策？" in preview and "4. 其他建议" in preview
    assert "很不满意" in preview and "当 {know} = &#39;yes&#39; 时显示" in preview


def test_once_open_only_wording_may_change(client, as_role):
    reviewer = as_role(Role.reviewer)
    editor = as_role(Role.editor)
    survey_id = make_survey(editor, S.open, reviewer)
    token = csrf_of(client.get(f"/console/surveys/{survey_id}/edit").text)
    reworded = json.loads(json.dumps(DEFINITION))
    reworded["pages"][0]["elements"][0]["title"] = "您了解这项政策吗？"
    r = client.post(f"/console/surveys/{survey_id}/edit",
                    data=form_data(token, purpose="general", definition=json.dumps(reworded, ensure_ascii=False)),
                    follow_redirects=False)
    assert r.status_code == 303 and status_of(survey_id) is S.open
    restructured = json.loads(json.dumps(reworded))
    restructured["pages"][1]["elements"].pop()
    r = client.post(f"/console/surveys/{survey_id}/edit", data=form_data(token, purpose="general",
                                                                                  definition=json.dumps(restructured)))
    assert r.status_code == 409 and "只能修改文字" in r.text
    with session_scope() as s:
        assert len(s.get(Survey, survey_id).definition["pages"][1]["elements"]) == 2


def _answered_by_one_who_asks_for_feedback(editor: str, reviewer: str) -> int:
    survey_id = make_survey(editor, S.open, reviewer)
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        follower = make_follower(s)
        _respond(s, survey, follower, {"know": "no"})
        feedback.ask(session=s, rec=respond.recipient(session=s, survey=survey, follower=follower))
    return survey_id


def test_the_feedback_is_written_with_errors_at_its_fields_published_and_its_push_composed(client, as_role):
    reviewer = as_role(Role.reviewer)
    editor = as_role(Role.editor)
    survey_id = _answered_by_one_who_asks_for_feedback(editor, reviewer)
    page = client.get(f"/console/surveys/{survey_id}/feedback").text
    assert "尚未填写" in page and "1 位受访者" in page and "生成推送" not in page
    token = csrf_of(page)
    url = f"/console/surveys/{survey_id}/feedback"
    r = client.post(url, data={"csrf_token": token, "adopted": "  ", "not_adopted": ""})
    assert r.status_code == 422 and "采纳情况不能为空" in r.text
    r = client.post(url, data={"csrf_token": token, "adopted": "简化\x07流程", "not_adopted": ""})
    assert r.status_code == 422 and 'is-invalid" id="adopted"' in r.text
    assert client.post(f"{url}/push", data={"csrf_token": token}).status_code == 409
    with session_scope() as s:
        assert feedback.get(session=s, survey_id=survey_id) is None
    r = client.post(url, data={"csrf_token": token, "adopted": "简化兑现流程", "not_adopted": "免申即享：需修法",
                               "action": "save"}, follow_redirects=False)
    assert r.status_code == 303 and "未发布" in client.get(url).text
    assert client.get(f"/s/feedback/{survey_id}").status_code == 404
    r = client.post(url, data={"csrf_token": token, "adopted": "简化兑现流程", "not_adopted": "免申即享：需修法",
                               "action": "publish"}, follow_redirects=False)
    assert r.status_code == 303 and "已发布" in client.get(url).text
    public = client.get(f"/s/feedback/{survey_id}").text
    assert "简化兑现流程" in public and "免申即享：需修法" in public
    r = client.post(f"{url}/push", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    campaign_page = client.get(r.headers["location"]).text
    assert "需求调查 · 采纳情况" in campaign_page and "采纳情况</td>" in campaign_page and "提交审核" in campaign_page
    with session_scope() as s:
        (campaign,) = push_service.list_campaigns(session=s)
        assert campaign.kind is CampaignKind.feedback and campaign.survey_id == survey_id
        assert push_service.problems(session=s, campaign=campaign) == []  # ready to submit: published, one asked


def test_an_analyst_reads_the_feedback_and_may_not_write_it(client, as_role):
    reviewer = as_role(Role.reviewer)
    editor = as_role(Role.editor)
    survey_id = _answered_by_one_who_asks_for_feedback(editor, reviewer)
    with session_scope() as s:
        feedback.write(session=s, survey=s.get(Survey, survey_id), adopted="简化兑现流程", not_adopted="")
    as_role(Role.analyst)
    page = client.get(f"/console/surveys/{survey_id}/feedback").text
    assert "简化兑现流程" in page and "<textarea" not in page and "生成推送" not in page
    r = client.post(f"/console/surveys/{survey_id}/feedback", data={"csrf_token": csrf_of(page), "adopted": "改掉"})
    assert r.status_code == 403
    with session_scope() as s:
        assert feedback.get(session=s, survey_id=survey_id).adopted == "简化兑现流程"
