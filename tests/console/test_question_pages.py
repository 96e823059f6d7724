"""人工咨询 pages over HTTP: the queue oldest first, a question with its conversation, masked enterprise and
related entries, the answer sent after the commit (or refused outside WeChat's 48 hours), withdrawn
questions made similar questions, the frequent-questions report, and the refusals."""
from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import select, update

from bot import service
from bot.models import Question, QuestionStatus
from core.db import session_scope, utcnow
from policies import faq
from staff.models import AuditEntry, Role
from subscriptions import service as subscriptions
from tests.bot.conftest import say
from tests.bot.test_staff_api import ME, let_time_pass, queued_tasks
from tests.conftest import TEST_REDIS_URL
from tests.console.conftest import csrf_of
from wechat import allowance

CODE = "91440300708461136T"


def post(client, path: str, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def ask(client, openid: str, text: str) -> int:
    """A follower asks for a person, then asks `text`; the queued question's id."""
    say(client, openid, "人工")
    say(client, openid, text)
    with session_scope() as s:
        return s.scalars(select(Question.id).order_by(Question.id.desc()).limit(1)).one()


def bind(openid: str) -> None:
    with session_scope() as s:
        follower = subscriptions.get_by_openid(session=s, openid=openid)
        enterprise = subscriptions.create_enterprise(session=s, code=CODE, name="葫芦岛测试科技有限公司")
        enterprise.contact_name, enterprise.contact_phone = "张三丰", "13912345678"
        subscriptions.bind_enterprise(session=s, follower_id=follower.id, enterprise_id=enterprise.id)


def test_the_queue_lists_open_questions_oldest_first_with_their_age(client, as_role):
    first = ask(client, "oFirst", "稳岗返还怎么申请？")
    second = ask(client, "oSecond", "创业担保贷款的额度是多少？")
    with session_scope() as s:
        s.execute(update(Question).where(Question.id == first).values(created_at=utcnow() - timedelta(hours=30)))
    as_role(Role.analyst)
    page = client.get("/console/questions").text
    assert page.index("稳岗返还怎么申请？") < page.index("创业担保贷款的额度是多少？")
    assert "30 小时 0 分" in page and "table-danger" in page
    assert "人工咨询" in client.get("/console/").text
    rest = client.get("/console/questions", params={"after_id": first}).text
    assert "稳岗返还" not in rest and f"/console/questions/{second}" in rest


def test_an_analyst_sees_the_bound_enterprise_and_what_was_typed_masked_and_cannot_answer(client, as_role):
    question = ask(client, ME, f"我们公司{CODE}怎么申请稳岗返还？电话13912345678")
    bind(ME)
    as_role(Role.analyst)
    page = client.get(f"/console/questions/{question}").text
    assert "葫芦岛测试科技有限公司" in page and "914403**********6T" in page and CODE not in page
    assert "13912345678" not in page and "张**" in page and "发送答复" not in page
    assert post(client, f"/console/questions/{question}/answer", answer="答复").status_code == 403
    with session_scope() as s:
        assert s.get(Question, question).status is QuestionStatus.open
    as_role(Role.editor)
    page = client.get(f"/console/questions/{question}").text
    assert CODE in page and "张三丰" in page and "发送答复" in page


def test_reviewers_have_no_questions_page(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    as_role(Role.reviewer)
    assert "人工咨询" not in client.get("/console/").text
    assert client.get("/console/questions").status_code == 403
    assert client.get(f"/console/questions/{question}").status_code == 403


def test_the_page_lists_related_entries_from_the_knowledge_base(client, as_role):
    with session_scope() as s:
        faq.add_from_answer(session=s, question="稳岗返还怎么申请", answer="登录人社网上办事大厅申请。")
    question = ask(client, ME, "园区企业稳岗返还怎么申请？")
    as_role(Role.editor)
    page = client.get(f"/console/questions/{question}").text
    assert "相关条目" in page and "稳岗返还怎么申请</a>" in page


def test_an_editor_answers_adds_it_to_the_faq_and_the_message_is_queued_after_the_commit(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    as_role(Role.editor)
    r = post(client, f"/console/questions/{question}/answer", answer="请登录人社网上办事大厅申请。", add_to_faq="1",
             category="稳岗就业")
    assert r.status_code == 303
    assert "正通过客服消息发给粉丝；问答已加入知识库" in client.get(r.headers["location"]).text
    [(task, args)] = queued_tasks()
    assert task == "bot.send_answer" and args[0] == question and "请登录人社网上办事大厅申请。" in args[1]
    with session_scope() as s:
        answered = s.get(Question, question)
        assert answered.status is QuestionStatus.answered
        assert faq.get(session=s, entry_id=answered.faq_id).category == "稳岗就业"
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "question.answer")).one()
    again = post(client, f"/console/questions/{question}/answer", answer="再答一次")
    assert again.status_code == 409 and "已答复" in again.text and len(queued_tasks()) == 1


def test_a_bad_answer_is_refused_at_the_field_and_sends_nothing(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    as_role(Role.editor)
    r = post(client, f"/console/questions/{question}/answer", answer="")
    assert r.status_code == 422 and "invalid-feedback" in r.text
    r = post(client, f"/console/questions/{question}/answer", answer="长" * 800)
    assert r.status_code == 409 and "答复过长" in r.text and "长" * 800 in r.text
    r = post(client, f"/console/questions/{question}/answer", answer="答复", category="类" * 51)
    assert r.status_code == 422 and "最多 50 个字" in r.text
    assert queued_tasks() == []


def test_outside_48_hours_the_page_says_it_is_undeliverable_and_the_answer_is_refused(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    let_time_pass(49 * 3600)
    as_role(Role.editor)
    page = client.get(f"/console/questions/{question}").text
    assert 'data-testid="undeliverable"' in page and "48小时内没有发过消息" in page
    r = post(client, f"/console/questions/{question}/answer", answer="迟到的答复")
    assert r.status_code == 409 and "45015" in r.text and queued_tasks() == []
    with session_scope() as s:
        assert s.get(Question, question).status is QuestionStatus.open


def test_a_withdrawn_question_is_added_to_the_similar_questions_of_the_entry_that_answered_it(client, as_role):
    with session_scope() as s:
        entry = faq.add_from_answer(session=s, question="如何申请稳岗返还？", answer="登录人社网上办事大厅申请。").id
    question = ask(client, ME, "园区企业怎么领稳岗返还")
    with session_scope() as s:
        assert service.withdraw_question(session=s, question_id=question, helped_kind="faq", helped_id=entry)
    as_role(Role.analyst)
    page = client.get("/console/questions/withdrawn").text
    assert "园区企业怎么领稳岗返还" in page and "如何申请稳岗返还？" in page and "加入</button>" not in page
    assert post(client, f"/console/questions/{question}/add-to-similar", text="x").status_code == 403
    as_role(Role.editor)
    r = post(client, f"/console/questions/{question}/add-to-similar", text="园区企业怎么领稳岗返还？")
    assert r.status_code == 303 and "相似问法" in client.get(r.headers["location"]).text
    with session_scope() as s:
        assert faq.get(session=s, entry_id=entry).similar == ["园区企业怎么领稳岗返还？"]
    open_one = ask(client, "oOther", "创业担保贷款额度")
    r = post(client, f"/console/questions/{open_one}/add-to-similar", text="创业担保贷款额度")
    assert "不是看了知识条目后撤回的" in client.get(r.headers["location"]).text
    with session_scope() as s:
        assert faq.get(session=s, entry_id=entry).similar == ["园区企业怎么领稳岗返还？"]


def test_the_report_counts_frequent_questions_with_a_chart_and_refuses_bad_dates(client, as_role):
    for openid in ("oA", "oB"):
        ask(client, openid, f"我的电话13912345678，稳岗返还怎么申请？")
    as_role(Role.analyst)
    page = client.get("/console/questions/report").text
    assert "data-chart" in page and "echarts.min.js" in page and "13912345678" not in page
    assert '<td class="text-end">2</td>' in page
    r = client.get("/console/questions/report", params={"since": "昨天"})
    assert r.status_code == 422 and "日期格式有误" in r.text
    r = client.get("/console/questions/report", params={"since": "2030-02-01", "until": "2030-01-01"})
    assert r.status_code == 422 and "结束日期早于开始日期" in r.text


def test_a_post_without_the_csrf_token_is_refused_and_sends_nothing(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    as_role(Role.editor)
    r = client.post(f"/console/questions/{question}/answer", data={"answer": "答复", "csrf_token": "forged"})
    assert r.status_code == 403 and queued_tasks() == []
    with session_scope() as s:
        assert s.get(Question, question).status is QuestionStatus.open


def test_a_used_up_allowance_is_said_on_the_page_and_an_undelivered_answer_comes_back_to_the_queue(client, as_role):
    question = ask(client, ME, "稳岗返还怎么申请？")
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    for _ in range(allowance.MESSAGE_COUNT):
        allowance.take(r, ME)
    as_role(Role.editor)
    assert "额度已用完" in client.get(f"/console/questions/{question}").text
    refused = post(client, f"/console/questions/{question}/answer", answer="答复")
    assert refused.status_code == 409 and "45047" in refused.text and queued_tasks() == []
    with session_scope() as s:
        q = s.get(Question, question)
        q.answer = "第一次的答复"
        service.mark_undelivered(session=s, question=q, reason="微信未接收该消息（错误码40003）。")
    queue = client.get("/console/questions", params={"status": "undelivered"}).text
    assert "稳岗返还怎么申请？" in queue and "错误码40003" in queue
    assert "稳岗返还怎么申请？" not in client.get("/console/questions").text
    assert client.get("/console/questions", params={"status": "answered"}).status_code == 422
