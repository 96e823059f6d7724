"""采纳情况: staff write and publish it, anyone reads the published page, respondents ask for it."""
from __future__ import annotations

from core.db import session_scope
from staff.models import Role
from surveys.models import Survey, SurveyRecipient
from tests.surveys.test_api_and_form import _body, _opened, _token, api  # noqa: F401 - the fixture


def _complete(client, token: str):
    client.post(f"/s/{token}", data={"action": "next", "know": "yes"})
    client.post(f"/s/{token}", data={"action": "next", "know": "yes", "need": ["融资"]})
    return client.post(f"/s/{token}", data={"action": "next", "score": "4"})


def test_staff_write_and_publish_the_feedback_and_the_page_shows_it(api):  # noqa: F811
    client, headers = api
    survey_id = _opened(client, headers)
    url = f"/api/surveys/{survey_id}/feedback"
    assert client.get(url, headers=headers[Role.analyst]).status_code == 404
    assert client.put(url, json={"adopted": "", "not_adopted": " "}, headers=headers[Role.editor]).status_code == 422
    assert client.put(url, json={"adopted": "x"}, headers=headers[Role.analyst]).status_code == 403
    assert client.put(url, json={"adopted": "x" * 20_001}, headers=headers[Role.editor]).status_code == 422
    assert client.post(url + "/publish", headers=headers[Role.editor]).status_code == 422  # nothing written
    r = client.put(url, json={"adopted": "增设融资对接会", "not_adopted": "减免社保：超出本级权限"},
                   headers=headers[Role.editor])
    assert r.status_code == 200 and r.json()["published_at"] is None
    assert r.json()["page_path"] == f"/s/feedback/{survey_id}"
    assert client.get(f"/s/feedback/{survey_id}").status_code == 404  # not yet published
    r = client.post(url + "/publish", headers=headers[Role.editor])
    assert r.status_code == 200 and r.json()["published_at"]
    page = client.get(f"/s/feedback/{survey_id}")
    assert page.status_code == 200 and "增设融资对接会" in page.text and "超出本级权限" in page.text
    client.put(url, json={"adopted": "<b>增设</b>融资对接会"}, headers=headers[Role.editor])
    page = client.get(f"/s/feedback/{survey_id}")
    assert "&lt;b&gt;增设" in page.text and "超出本级权限" not in page.text  # corrected, escaped
    for bad in ("0", "99999999999", "abc"):
        assert client.get(f"/s/feedback/{bad}").status_code in (404, 422)


def test_a_draft_survey_takes_no_feedback(api):  # noqa: F811
    client, headers = api
    survey_id = client.post("/api/surveys", json=_body(), headers=headers[Role.editor]).json()["id"]
    r = client.put(f"/api/surveys/{survey_id}/feedback", json={"adopted": "x"}, headers=headers[Role.editor])
    assert r.status_code == 409


def test_a_respondent_asks_for_the_feedback_on_the_thank_you_page(api):  # noqa: F811
    client, headers = api
    survey_id = _opened(client, headers)
    token = _token(survey_id)
    assert client.post(f"/s/{token}/feedback", data={"wants": "1"}).status_code == 404  # not completed yet
    done = _complete(client, token)
    assert "感谢您的参与" in done.text and f'action="/s/{token}/feedback"' in done.text
    r = client.post(f"/s/{token}/feedback", data={"wants": "1"})
    assert r.status_code == 200 and "发布后将通过公众号消息告知您" in r.text
    with session_scope() as s:
        rec = s.query(SurveyRecipient).filter_by(token=token).one()
        assert rec.wants_feedback and s.get(Survey, survey_id)
    r = client.post(f"/s/{token}/feedback", data={"wants": "0"})
    assert "已取消" in r.text
    with session_scope() as s:
        assert not s.query(SurveyRecipient).filter_by(token=token).one().wants_feedback
    assert client.post("/s/nope/feedback", data={"wants": "1"}).status_code == 404
