"""The staff API for surveys and the respondent's form at /s/{token}, through the real app."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import session_scope, utcnow
from staff.models import Role
from staff.security import issue_token
from surveys import respond
from surveys.models import Survey, SurveyResponse
from tests.push.conftest import make_staff
from tests.surveys.conftest import DEFINITION, make_follower


@pytest.fixture
def api(client):
    with session_scope() as s:
        users = {r: make_staff(s, r) for r in (Role.editor, Role.reviewer, Role.analyst)}
        headers = {r: {"Authorization": f"Bearer {issue_token(u.id, u.role.value)}"} for r, u in users.items()}
    return client, headers


def _body(**values):
    return {"title": "惠企政策需求调查", "definition": DEFINITION, "public": True,
            "closes_at": (utcnow() + timedelta(days=7)).isoformat(), **values}


def _opened(client, headers) -> int:
    survey = client.post("/api/surveys", json=_body(), headers=headers[Role.editor]).json()
    for step, who in (("submit", Role.editor), ("approve", Role.reviewer), ("open", Role.editor)):
        r = client.post(f"/api/surveys/{survey['id']}/{step}", headers=headers[who])
        assert r.status_code == 200, r.text
    return survey["id"]


def test_the_lifecycle_through_the_api(api):
    client, headers = api
    r = client.post("/api/surveys", json=_body(), headers=headers[Role.editor])
    assert r.status_code == 201 and r.json()["status"] == "draft"
    survey_id = r.json()["id"]
    assert client.get(f"/api/surveys/{survey_id}", headers=headers[Role.analyst]).json()["definition"][
        "pages"][0]["elements"][1]["choices"][0] == {"value": "融资", "text": "融资"}  # stored normalised
    assert client.post(f"/api/surveys/{survey_id}/submit", headers=headers[Role.editor]).status_code == 200
    refused = client.post(f"/api/surveys/{survey_id}/reject", json={"reason": ""}, headers=headers[Role.reviewer])
    assert refused.status_code == 422
    r = client.post(f"/api/surveys/{survey_id}/reject", json={"reason": "第 3 题选项不全"},
                    headers=headers[Role.reviewer])
    assert r.json()["status"] == "draft" and r.json()["rejection_reason"] == "第 3 题选项不全"
    client.post(f"/api/surveys/{survey_id}/submit", headers=headers[Role.editor])
    r = client.post(f"/api/surveys/{survey_id}/approve", headers=headers[Role.reviewer])
    assert r.json()["status"] == "approved" and len(r.json()["approved_hash"]) == 64
    assert client.post(f"/api/surveys/{survey_id}/open", headers=headers[Role.editor]).json()["status"] == "open"
    exported = client.get(f"/api/surveys/{survey_id}/definition.json", headers=headers[Role.analyst])
    assert exported.json()["pages"][1]["elements"][0]["name"] == "score"


@pytest.mark.parametrize("who, path, status", [
    (Role.analyst, "", 403), (Role.editor, "/approve", 403)])
def test_roles_are_enforced(api, who, path, status):
    client, headers = api
    survey_id = client.post("/api/surveys", json=_body(), headers=headers[Role.editor]).json()["id"]
    client.post(f"/api/surveys/{survey_id}/submit", headers=headers[Role.editor])
    url = "/api/surveys" + (f"/{survey_id}{path}" if path else "")
    assert client.post(url, json=_body(), headers=headers[who]).status_code == status


def test_a_bad_definition_is_a_422_naming_each_problem_in_chinese(api):
    client, headers = api
    bad = {"pages": [{"name": "p", "elements": [{"type": "rating", "name": "q", "title": "t", "rateMax": 7}]}]}
    r = client.post("/api/surveys", json=_body(definition=bad), headers=headers[Role.editor])
    assert r.status_code == 422 and "取值不在允许范围内" in r.text
    r = client.post("/api/surveys/definition/check", files={"file": ("s.json", b"{not json", "application/json")},
                    headers=headers[Role.editor])
    assert r.status_code == 422 and "JSON" in r.text
    r = client.post("/api/surveys/definition/check", headers=headers[Role.editor],
                    files={"file": ("s.json", b'{"pages": [{"name": "p", "elements": []}]}', "application/json")})
    assert r.status_code == 422 and "项数太少" in r.text


def _token(survey_id: int) -> str:
    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        return respond.recipient(session=s, survey=survey, follower=make_follower(s)).token


def test_the_form_one_page_at_a_time(api):
    client, headers = api
    token = _token(_opened(client, headers))
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and "您是否了解该政策？" in page.text and "总体满意度" not in page.text
    assert re.findall(r'href="([^"]+)"', page.text) == ["/console/static/vendor/weui-2.6.26/weui.min.css"]
    assert client.get("/console/static/vendor/weui-2.6.26/weui.min.css").status_code == 200
    r = client.post(f"/s/{token}", data={"action": "next"}, follow_redirects=False)
    assert r.status_code == 422 and "此题必答" in r.text
    r = client.post(f"/s/{token}", data={"action": "next", "know": "yes"})
    assert "您最需要哪些支持？" in r.text  # shown once its page's answer is in
    r = client.post(f"/s/{token}", data={"action": "next", "know": "yes", "need": ["融资", "用工", "税费"]})
    assert r.status_code == 422 and "最多选择 2 项" in r.text
    r = client.post(f"/s/{token}", data={"action": "next", "know": "yes", "need": ["融资", "other"],
                                         "need-Comment": "人才引进"})
    assert "总体满意度" in r.text and "已完成 50%" in r.text and ">提交</button>" in r.text  # the last page
    r = client.post(f"/s/{token}", data={"action": "back"})
    assert "您是否了解该政策？" in r.text and 'value="yes"\n            checked' in r.text  # answers kept
    client.post(f"/s/{token}", data={"action": "next", "know": "yes", "need": ["融资"]})
    r = client.post(f"/s/{token}", data={"action": "next", "score": "4", "advice": "<script>x</script>"})
    assert "感谢您的参与" in r.text
    with session_scope() as s:
        assert s.scalar(select(SurveyResponse.answers)) == {"know": "yes", "need": ["融资"], "score": 4,
                                                            "advice": "<script>x</script>"}
    assert "已提交过" in client.get(f"/s/{token}").text


def test_an_unknown_token_and_a_closed_survey_say_so(api):
    client, headers = api
    assert client.get("/s/nope").status_code == 404
    assert client.post("/s/" + "x" * 500, data={"action": "next"}).status_code == 404
    survey_id = _opened(client, headers)
    token = _token(survey_id)
    client.post(f"/api/surveys/{survey_id}/close", headers=headers[Role.editor])
    assert "已结束" in client.get(f"/s/{token}").text
    assert "已结束" in client.post(f"/s/{token}", data={"action": "next", "know": "no"}).text


def test_the_policy_page_shows_its_open_consultation(api):
    client, headers = api
    with session_scope() as s:
        from tests.push.conftest import make_policy
        policy_id = make_policy(s).id
    assert "正在征求意见" not in client.get(f"/p/{policy_id}").text
    survey = client.post("/api/surveys", json=_body(policy_id=policy_id, purpose="consult"),
                         headers=headers[Role.editor]).json()
    for step, who in (("submit", Role.editor), ("approve", Role.reviewer), ("open", Role.editor)):
        client.post(f"/api/surveys/{survey['id']}/{step}", headers=headers[who])
    page = client.get(f"/p/{policy_id}").text
    assert "正在征求意见" in page and f'href="/survey/{survey["id"]}"' in page
    client.post(f"/api/surveys/{survey['id']}/close", headers=headers[Role.editor])
    assert "正在征求意见" not in client.get(f"/p/{policy_id}").text
