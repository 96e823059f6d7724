"""The staff-answer loop with real processes: a follower asks through the webhook, the question is
queued, staff answer through the API, a real Celery worker sends it, the sandbox records it."""
import time

import pytest
from sqlalchemy import select

from bot.models import Question
from core.db import session_scope
from staff.models import Role
from tests import live
from tests.bot.conftest import say, staff_headers

pytestmark = pytest.mark.slow


def test_staff_answer_reaches_the_follower_as_a_customer_service_message(client, app_env):
    assert "请输入您要咨询的问题" in say(client, "oLoop00001", "人工")
    assert "已转人工" in say(client, "oLoop00001", "公租房申请需要哪些材料？")
    with session_scope() as session:
        question = session.scalars(select(Question)).one()
    editor = staff_headers(client, Role.editor)
    with live.sandbox(app_env) as (base, state), live.worker({**app_env, "WECHAT_API_BASE": base}):
        r = client.post(f"/api/questions/{question.id}/answer", json={"answer": "身份证、户口簿和收入证明。"},
                        headers=editor)
        assert r.status_code == 200
        deadline = time.monotonic() + 20
        sent = []
        while not sent and time.monotonic() < deadline:
            sent = [m for m in state.records if m["kind"] == "custom" and m["touser"] == "oLoop00001"]
            time.sleep(0.1)
    assert len(sent) == 1 and "身份证、户口簿和收入证明。" in sent[0]["text"]
    assert "公租房申请需要哪些材料" in sent[0]["text"]
