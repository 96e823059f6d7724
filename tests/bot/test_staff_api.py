"""Staff API: handed-over questions, answers within WeChat's 48 h, add to FAQ, the frequent-questions report."""
import base64
import json
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from bot import service
from bot.tasks import send_answer
from bot.models import AskOutcome, Feedback, Question
from core.db import session_scope, utcnow
from policies import faq
from staff.models import AuditEntry, Role
from subscriptions.models import Follower
from subscriptions.service import LAST_SEEN_KEY
from tests.bot.conftest import event, say, staff_headers
from tests import live
from tests.conftest import TEST_REDIS_URL, clear_caches
from wechat import allowance

ME = "oStaff0001"


@pytest.fixture
def question(client):
    say(client, ME, "人工")
    say(client, ME, "我们园区的企业怎么申请稳岗返还？")
    with session_scope() as session:
        return session.scalars(select(Question)).one().id


def queued_tasks():
    broker = redis.Redis.from_url(TEST_REDIS_URL)
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0])
            for m in map(json.loads, broker.lrange("celery", 0, -1))]


def test_editors_and_analysts_list_open_questions(client, question):
    for role in (Role.editor, Role.analyst, Role.admin):
        r = client.get("/api/questions", headers=staff_headers(client, role))
        assert r.status_code == 200 and [q["id"] for q in r.json()] == [question]
    body = client.get(f"/api/questions/{question}", headers=staff_headers(client, Role.analyst)).json()
    assert body["text"] == "我们园区的企业怎么申请稳岗返还？" and body["conversation"][0]["text"] == "人工"


@pytest.fixture
def entry(client):
    with session_scope() as session:
        return faq.add_from_answer(session=session, question="如何申请稳岗返还？", answer="登录人社网上办事大厅申请。").id


def withdraw(question: int, kind: str, helped_id: int) -> bool:
    with session_scope() as session:
        return service.withdraw_question(session=session, question_id=question, helped_kind=kind, helped_id=helped_id)


def test_questions_the_follower_withdrew_are_listed_apart(client, question, entry):
    assert withdraw(question, "faq", entry)
    assert not withdraw(question, "faq", entry)  # once
    headers = staff_headers(client, Role.editor)
    assert client.get("/api/questions", headers=headers).json() == []
    listed = client.get("/api/questions", params={"status": "withdrawn"}, headers=headers).json()
    assert [(q["id"], q["status"], q["helped_kind"], q["helped_id"]) for q in listed] == [
        (question, "withdrawn", "faq", entry)]


def test_a_withdrawn_question_becomes_a_similar_question_of_the_entry_that_answered_it(client, question, entry):
    editor = staff_headers(client, Role.editor)
    open_one = client.post(f"/api/questions/{question}/add-to-similar", json={}, headers=editor)
    assert open_one.status_code == 409 and "not withdrawn" in open_one.json()["detail"]
    withdraw(question, "faq", entry)
    for _ in range(2):  # the second time changes nothing
        r = client.post(f"/api/questions/{question}/add-to-similar", json={}, headers=editor)
        assert r.status_code == 200 and r.json()["faq_id"] == entry
        with session_scope() as session:
            assert faq.get(session=session, entry_id=entry).similar == ["我们园区的企业怎么申请稳岗返还？"]
    r = client.post(f"/api/questions/{question}/add-to-similar", json={"question": "园区企业怎么领稳岗返还"},
                    headers=editor)
    with session_scope() as session:
        assert faq.get(session=session, entry_id=entry).similar[-1] == "园区企业怎么领稳岗返还"
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "question.add_to_similar")).all()


def test_only_an_faq_entry_that_still_exists_takes_a_similar_question(client, question, entry):
    editor = staff_headers(client, Role.editor)
    withdraw(question, "policy", 1)
    r = client.post(f"/api/questions/{question}/add-to-similar", json={}, headers=editor)
    assert r.status_code == 409 and "not withdrawn for an FAQ entry" in r.json()["detail"]
    with session_scope() as session:
        session.execute(update(Question).values(helped_kind="faq", helped_id=entry))
        faq.delete(session=session, entry=faq.get(session=session, entry_id=entry))
    r = client.post(f"/api/questions/{question}/add-to-similar", json={}, headers=editor)
    assert r.status_code == 409 and "is gone" in r.json()["detail"]
    assert client.post(f"/api/questions/{question}/add-to-similar", json={},
                       headers=staff_headers(client, Role.analyst)).status_code == 403


def test_others_may_not_read_questions(client, question):
    assert client.get("/api/questions").status_code == 401
    assert client.get("/api/questions", headers=staff_headers(client, Role.reviewer)).status_code == 403


def test_analysts_may_not_answer(client, question):
    r = client.post(f"/api/questions/{question}/answer", json={"answer": "x"},
                    headers=staff_headers(client, Role.analyst))
    assert r.status_code == 403


def test_unknown_question_is_404(client):
    assert client.get("/api/questions/999", headers=staff_headers(client, Role.editor)).status_code == 404


def test_answer_is_recorded_audited_and_queued_as_a_customer_service_message(client, question):
    r = client.post(f"/api/questions/{question}/answer", json={"answer": "请登录人社网上办事大厅申请。"},
                    headers=staff_headers(client, Role.editor))
    assert r.status_code == 200 and r.json()["status"] == "answered" and r.json()["answered_by"]
    [(task, args)] = queued_tasks()
    assert task == "bot.send_answer" and args[0] == question and "请登录人社网上办事大厅申请。" in args[1]
    assert client.get("/api/questions", headers=staff_headers(client, Role.editor)).json() == []
    with session_scope() as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "question.answer")).one()
    again = client.post(f"/api/questions/{question}/answer", json={"answer": "再答一次"},
                        headers=staff_headers(client, Role.editor))
    assert again.status_code == 409 and "answered already" in again.json()["detail"]


def test_feedback_on_staffs_answer_is_recorded(client, question):
    client.post(f"/api/questions/{question}/answer", json={"answer": "请登录人社网上办事大厅申请。"},
                headers=staff_headers(client, Role.editor))
    assert "感谢" in say(client, ME, "有用")
    with session_scope() as session:
        fb = session.scalars(select(Feedback)).one()
    assert (fb.answer_kind, fb.answer_id, fb.useful) == ("staff", question, True)


@pytest.mark.parametrize("answer, status", [("", 422), ("长" * 2001, 422), ("长" * 800, 409)])
def test_empty_or_too_long_answers_are_refused(client, question, answer, status):
    r = client.post(f"/api/questions/{question}/answer", json={"answer": answer},
                    headers=staff_headers(client, Role.editor))
    assert r.status_code == status and queued_tasks() == []


def let_time_pass(seconds: int) -> None:
    """The question, the follower's last interaction and their allowances, `seconds` older."""
    then = utcnow() - timedelta(seconds=seconds)
    with session_scope() as session:
        session.execute(update(Question).values(created_at=then))
        session.execute(update(Follower).values(last_interaction_at=then))
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    for key, fields in ((LAST_SEEN_KEY, [ME]), (allowance.key(ME), ["m", "e"])):
        for field, at in r.hgetall(key).items():
            if field in fields:
                r.hset(key, field, int(at) - seconds)


def answer(client, question, text="答复"):
    return client.post(f"/api/questions/{question}/answer", json={"answer": text},
                       headers=staff_headers(client, Role.editor))


def status_of(client, question):
    return client.get(f"/api/questions/{question}", headers=staff_headers(client, Role.editor)).json()["status"]


def test_outside_48_hours_the_answer_is_refused_and_the_question_stays_open(client, question):
    let_time_pass(49 * 3600)
    r = answer(client, question, "迟到的答复")
    assert r.status_code == 409 and "48小时" in r.json()["detail"] and "45015" in r.json()["detail"]
    assert queued_tasks() == [] and status_of(client, question) == "open"


def test_a_template_receipt_does_not_reopen_the_48_hours(client, question):
    let_time_pass(49 * 3600)
    event(client, ME, "TEMPLATESENDJOBFINISH")
    assert answer(client, question).status_code == 409
    assert status_of(client, question) == "open"


def test_a_menu_click_allows_an_answer_for_a_minute_not_48_hours(client, question):
    let_time_pass(49 * 3600)
    event(client, ME, "CLICK", "HELP")
    let_time_pass(61)
    assert answer(client, question).status_code == 409
    event(client, ME, "CLICK", "HELP")
    assert answer(client, question).status_code == 200


def test_when_the_followers_allowance_is_used_the_answer_is_refused_and_says_so(client, question):
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    for _ in range(allowance.MESSAGE_COUNT):  # five messages since the question: late answers, say
        allowance.take(r, ME)
    refused = answer(client, question)
    assert refused.status_code == 409 and "45047" in refused.json()["detail"] and "额度已用完" in refused.json()["detail"]
    assert queued_tasks() == [] and status_of(client, question) == "open"
    say(client, ME, "还在吗？")  # the follower's next message starts a fresh allowance
    assert answer(client, question).status_code == 200


@pytest.fixture
def sandbox(client, app_env, monkeypatch):
    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        yield state


def run_queued_answers() -> None:
    for task, args in queued_tasks():
        assert task == "bot.send_answer"
        send_answer.apply(args=args)
    redis.Redis.from_url(TEST_REDIS_URL).delete("celery")


def test_the_answer_reaches_the_follower(client, question, sandbox):
    assert answer(client, question, "请登录人社网上办事大厅申请。").status_code == 200
    run_queued_answers()
    [sent] = sandbox.sent(touser=ME)
    assert sent["kind"] == "custom" and "请登录人社网上办事大厅申请。" in sent["text"]
    assert status_of(client, question) == "answered"


def test_an_answer_wechat_refuses_is_marked_undelivered_and_kept(client, question, sandbox):
    sandbox.note_activity(ME, "text")
    sandbox.allowances[(ME, "message")].left = 0  # five sent from WeChat's own customer-service tools
    assert answer(client, question, "请登录人社网上办事大厅申请。").status_code == 200
    run_queued_answers()
    assert sandbox.sent(touser=ME) == []
    editor = staff_headers(client, Role.editor)
    [listed] = client.get("/api/questions", params={"status": "undelivered"}, headers=editor).json()
    assert listed["id"] == question and listed["answer"] == "请登录人社网上办事大厅申请。"
    assert "45047" in listed["undelivered_reason"]
    assert answer(client, question).status_code == 409  # WeChat's word stands until the follower writes
    say(client, ME, "还在吗？")
    sandbox.note_activity(ME, "text")
    assert answer(client, question, "请登录人社网上办事大厅申请。").status_code == 200
    run_queued_answers()
    assert len(sandbox.sent(touser=ME)) == 1 and status_of(client, question) == "answered"


def test_answer_and_add_to_faq_in_one_call(client, question):
    r = client.post(f"/api/questions/{question}/answer",
                    json={"answer": "请登录人社网上办事大厅申请。", "add_to_faq": True, "category": "稳岗就业"},
                    headers=staff_headers(client, Role.editor))
    assert r.status_code == 200 and r.json()["faq_id"]
    with session_scope() as session:
        entry = faq.get(session=session, entry_id=r.json()["faq_id"])
        assert (entry.question, entry.answer) == ("我们园区的企业怎么申请稳岗返还？", "请登录人社网上办事大厅申请。")


def test_a_question_asked_right_after_add_to_faq_gets_the_new_entry(client, question, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("SEARCH_REFRESH_SECONDS", "60")  # no help from the periodic check
    get_settings.cache_clear()
    with session_scope() as session:
        faq.add_from_answer(session=session, question="稳岗返还的标准是多少？", answer="按上年度缴纳失业保险费的60%返还。")
    say(client, "oStaff0002", "稳岗返还的标准是多少？")  # the index holds the neighbouring entry only
    r = client.post(f"/api/questions/{question}/answer",
                    json={"answer": "请登录人社网上办事大厅申请。", "add_to_faq": True},
                    headers=staff_headers(client, Role.editor))
    assert r.status_code == 200
    reply = say(client, "oStaff0003", "我们园区的企业怎么申请稳岗返还？")
    assert reply.startswith("我们园区的企业怎么申请稳岗返还？\n请登录人社网上办事大厅申请。")


def test_add_an_answered_question_to_the_faq_with_an_edited_question(client, question):
    editor = staff_headers(client, Role.editor)
    before = client.post(f"/api/questions/{question}/add-to-faq", json={}, headers=editor)
    assert before.status_code == 409 and "no answer yet" in before.json()["detail"]
    client.post(f"/api/questions/{question}/answer", json={"answer": "请登录人社网上办事大厅申请。"}, headers=editor)
    r = client.post(f"/api/questions/{question}/add-to-faq", json={"question": "企业如何申请稳岗返还？"},
                    headers=editor)
    assert r.status_code == 200
    with session_scope() as session:
        assert faq.get(session=session, entry_id=r.json()["faq_id"]).question == "企业如何申请稳岗返还？"
    twice = client.post(f"/api/questions/{question}/add-to-faq", json={}, headers=editor)
    assert twice.status_code == 409


def test_frequent_questions_report(client):
    with session_scope() as session:
        for text, outcome in [("社保卡丢了怎么办？", AskOutcome.answered), ("社保卡丢了 怎么办", AskOutcome.answered),
                              ("社保卡丢了怎么办", AskOutcome.asked_for_person),
                              ("火箭发射能看吗", AskOutcome.low_confidence), ("补贴", AskOutcome.choices)]:
            service.log_ask(session=session, text=text, outcome=outcome)
        service.record_feedback(session=session, openid=ME, question="社保卡丢了怎么办", answer_kind="faq",
                                answer_id=1, useful=False)
    r = client.get("/api/questions/report", headers=staff_headers(client, Role.analyst))
    assert r.status_code == 200
    body = r.json()
    assert (body["asked"], body["answered"], body["handed_over"]) == (5, 3, 2)
    top = body["questions"][0]
    assert (top["normalized"], top["asked"], top["answered"], top["handed_over"], top["asked_for_person"],
            top["not_useful"]) == ("社保卡丢了怎么办", 3, 2, 1, 1, 1)
    assert {q["normalized"]: q["low_confidence"] for q in body["questions"]}["火箭发射能看吗"] == 1


def test_report_counts_the_questions_followers_withdrew(client, question, entry):
    withdraw(question, "faq", entry)
    body = client.get("/api/questions/report", headers=staff_headers(client, Role.analyst)).json()
    assert (body["withdrawn"], body["open_questions"]) == (1, 0)


def test_report_date_range(client):
    with session_scope() as session:
        service.log_ask(session=session, text="旧问题", outcome=AskOutcome.answered).created_at = \
            utcnow() - timedelta(days=40)
        service.log_ask(session=session, text="新问题", outcome=AskOutcome.answered)
    analyst = staff_headers(client, Role.analyst)
    assert [q["example"] for q in client.get("/api/questions/report", headers=analyst).json()["questions"]] == ["新问题"]
    since = (utcnow() - timedelta(days=45)).date().isoformat()
    until = (utcnow() - timedelta(days=35)).date().isoformat()
    older = client.get("/api/questions/report", params={"since": since, "until": until}, headers=analyst).json()
    assert [q["example"] for q in older["questions"]] == ["旧问题"]
    assert client.get("/api/questions/report", params={"since": until, "until": since},
                      headers=analyst).status_code == 422


TYPED = "我手机13812345678，身份证11010519491231002X，公司91440300708461136T，客服说我的号是o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
SECRETS = ("13812345678", "11010519491231002X", "91440300708461136T", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")


def test_analysts_read_what_followers_typed_masked(client):
    say(client, ME, "人工")
    say(client, ME, TYPED)
    with session_scope() as session:
        service.log_ask(session=session, text=TYPED, outcome=AskOutcome.low_confidence)
    seen = {}
    for role in (Role.analyst, Role.editor):
        headers = staff_headers(client, role)
        listed = client.get("/api/questions", headers=headers).json()
        one = client.get(f"/api/questions/{listed[0]['id']}", headers=headers).json()
        report = client.get("/api/questions/report", headers=headers).json()
        seen[role] = json.dumps([listed, one, report], ensure_ascii=False)
        assert "我手机" in seen[role] and "conversation" in seen[role]
    assert all(secret in seen[Role.editor] for secret in SECRETS)
    assert not any(secret in seen[Role.analyst] for secret in SECRETS)
    assert "138****5678" in seen[Role.analyst]


def test_analysts_see_openids_masked(client):
    event(client, ME, "subscribe")
    with session_scope() as session:
        me = session.scalars(select(Follower.id).where(Follower.openid == ME)).one()
    seen = {}
    for role in (Role.analyst, Role.editor):
        headers = staff_headers(client, role)
        listed = client.get("/api/followers", headers=headers).json()["items"]
        one = client.get(f"/api/followers/{me}", headers=headers).json()
        seen[role] = (next(f["openid"] for f in listed if f["id"] == me), one["openid"])
    assert seen[Role.editor] == (ME, ME)
    assert seen[Role.analyst] == ("oSt***001", "oSt***001")
