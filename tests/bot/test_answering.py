"""Questions: one answer, a numbered list, not-in-force warnings, hand-over, feedback."""
from dataclasses import asdict

import pytest
from sqlalchemy import select

from bot import answering, dialogs, memory, menu, service
from bot import text as bot_text
from bot.models import AskedQuestion, AskOutcome, Feedback, HandoverReason, Question, QuestionStatus
from core.db import session_scope
from policies import faq, search
from core.settings import get_settings
from policies.search import Candidate
from staff.models import Role
from tests.bot.conftest import say, staff_headers

ME = "oAsk000001"
FAQ = [
    ("领取失业保险金需要什么条件？", "按照规定参加失业保险，所在单位和本人已按照规定履行缴费义务满1年；非因本人意愿中断就业；"
     "已经进行失业登记，并有求职要求。"),
    ("社保卡丢了怎么办？", "请立即拨打12333或到社保卡服务网点办理挂失，挂失后可申请补办。"),
    ("高新技术企业认定需要什么条件？", "企业申请认定时须注册成立一年以上，拥有核心自主知识产权，研发费用占比符合要求。"),
]


def candidate(n: int, confidence: float = 0.9, in_force: bool = True, note: str = "", answer: str = "") -> Candidate:
    return Candidate("policy" if note else "faq", n, f"问题{n}", answer or f"答案{n}。",
                     f"http://h5.example/faq/{n}", confidence, in_force, note)


@pytest.fixture
def kb(client):
    with session_scope() as session:
        for question, answer in FAQ:
            faq.add_from_answer(session=session, question=question, answer=answer, category="测试")
    search.reset()


# --- what to offer -----------------------------------------------------------------------------

def test_choose_one_confident_answer():
    best = candidate(1, 0.95)
    assert answering.choose([best, candidate(2, 0.7), candidate(3, 0.2)]) == [best]


def test_choose_several_close_matches():
    sure = get_settings().answer_confidence
    a, b = candidate(1, sure), candidate(2, sure - 0.05)
    assert answering.choose([b, a, candidate(3, 0.3)]) == [a, b]


def test_below_the_answer_confidence_every_candidate_over_the_floor_is_listed():
    # the right entry is often the second or fourth of the close ones: a short list with it beats a guess
    floor = get_settings().answer_list_floor
    listed = [candidate(n, c) for n, c in enumerate((0.5, 0.2, 0.1, 0.05, floor), start=1)]
    assert answering.choose([*reversed(listed), candidate(6, floor - 0.01)]) == listed


def test_a_close_call_lists_up_to_five_entries(monkeypatch):
    found = [candidate(n, 0.15) for n in range(1, answering.CHOICES + 1)]
    asked = []
    monkeypatch.setattr(answering, "on_topic", lambda q: ([], 0))
    monkeypatch.setattr(answering, "find_answers", lambda q, k: asked.append(k) or found[:k])
    decision = answering.decide("招用就业困难人员的补贴怎么领")
    assert asked == [5] and decision.kind == "choices" and decision.offered == found
    assert "5. 问题5" in decision.reply


def test_choose_nothing_when_nothing_is_close():
    floor, together = get_settings().answer_list_floor, get_settings().answer_list_confidence
    assert answering.choose([candidate(1, together - 0.01), candidate(2, floor - 0.01)]) == []
    assert answering.choose([]) == []


def test_choose_a_list_when_no_candidate_is_confident_but_together_they_are_likely():
    a, b, c = candidate(1, 0.35), candidate(2, 0.3), candidate(3, get_settings().answer_list_floor - 0.01)
    assert answering.choose([c, b, a]) == [a, b]


def test_an_answer_from_a_policy_not_in_force_says_so_first():
    reply = answering.format_answer(candidate(1, note="该政策已废止", in_force=False))
    assert reply.startswith("【注意】该政策已废止") and "http://h5.example/faq/1" in reply


def test_a_long_answer_is_cut_politely_within_wechats_limit_keeping_the_link():
    reply = answering.format_answer(candidate(1, answer="这是一句很长的政策说明。" * 400))
    assert bot_text.size(reply) <= bot_text.REPLY_BYTES
    assert "。…" in reply and "详见：http://h5.example/faq/1" in reply and reply.endswith("是否有帮助。")


def test_not_in_force_is_marked_in_the_list():
    listing = answering.format_choices([candidate(1), candidate(2, in_force=False, note="已被《新办法》修订")])
    assert "1. 问题1\n" in listing and "2. 问题2（已被《新办法》修订）" in listing


# --- the numbered choice, through the webhook --------------------------------------------------

@pytest.fixture
def choosing(client):
    options = [candidate(1), candidate(2, in_force=False, note="该政策已失效"), candidate(3)]
    dialogs.begin(ME, answering.CHOICE, step="pick", reply=answering.format_choices(options),
                  data={"question": "补贴怎么申请", "options": [asdict(c) for c in options]})
    return client


def test_replying_a_number_gives_that_answer_and_invites_feedback(choosing):
    reply = say(choosing, ME, "2")
    assert reply.startswith("【注意】该政策已失效") and "答案2" in reply and "有用" in reply
    assert memory.take_answer(ME) == {"question": "补贴怎么申请", "kind": "policy", "id": 2}


@pytest.mark.parametrize("wrong", ["4", "0"])
def test_an_out_of_range_number_is_asked_again(choosing, wrong):
    assert "请回复 1-3 之间的序号" in say(choosing, ME, wrong)
    assert "答案1" in say(choosing, ME, "1")


def test_cancel_the_choice(choosing):
    assert "已取消" in say(choosing, ME, "取消")
    assert say(choosing, ME, "1") != answering.format_answer(candidate(1))


def test_a_non_number_is_a_new_question(choosing, kb):
    reply = say(choosing, ME, "问卷")
    assert reply == "暂无问卷。有新的意见征集时会通知您。"
    assert dialogs.load(ME) is None


# --- answers from the knowledge base -----------------------------------------------------------

def test_a_question_in_the_faq_gets_its_answer_with_the_link(client, kb):
    reply = say(client, ME, "领取失业保险金需要什么条件")
    assert "非因本人意愿中断就业" in reply and "详见：http" in reply and "有用" in reply
    with session_scope() as session:
        asked = session.scalars(select(AskedQuestion)).one()
    assert asked.outcome is AskOutcome.answered and asked.answer_kind == "faq"


def test_low_confidence_is_handed_over_with_the_conversation(client, kb):
    say(client, ME, "帮助")
    reply = say(client, ME, "我想问一下明天的火箭发射能不能现场看")
    assert reply == answering.NO_ANSWER + answering.HANDED_OVER
    with session_scope() as session:
        q = session.scalars(select(Question)).one()
        asked = session.scalars(select(AskedQuestion)).one()
    assert q.reason is HandoverReason.low_confidence and q.conversation[0]["text"] == "帮助"
    assert asked.outcome is AskOutcome.low_confidence
    assert "已转人工" in say(client, ME, "人工")  # the same question is not queued twice


@pytest.fixture
def lists_off(monkeypatch):
    """Staff's setting for no numbered lists of close candidates: a question not answered goes to a person."""
    monkeypatch.setenv("ANSWER_LIST_CONFIDENCE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_close_call_gets_a_numbered_list_and_no_ticket(client, kb):
    reply = say(client, ME, "公司想评高企")
    assert reply.startswith("找到几条相关内容，请回复序号查看：\n1. 高新技术企业认定需要什么条件？\n")
    assert queued_questions() == []
    with session_scope() as session:
        assert session.scalars(select(AskedQuestion)).one().outcome is AskOutcome.choices
    assert "注册成立一年以上" in say(client, ME, "1")
    assert say(client, ME, "人工") == answering.HANDED_OVER  # a person when the follower asks
    assert queued_questions() == [("公司想评高企", HandoverReason.asked_for_person, QuestionStatus.open)]


def test_a_question_handed_over_lists_related_entries_to_read_while_waiting(client, kb, lists_off):
    reply = say(client, ME, "公司想评高企")
    assert reply.startswith(answering.NO_ANSWER + answering.HANDED_OVER)
    assert f"{answering.WHILE_WAITING}\n1. 高新技术企业认定需要什么条件？\n" in reply
    assert "领取失业保险金" not in reply  # below answering.RELATED_FLOOR
    with session_scope() as session:
        q = session.scalars(select(Question)).one()
    assert q.text == "公司想评高企" and q.reason is HandoverReason.low_confidence
    assert "注册成立一年以上" in say(client, ME, "1")
    assert "已转人工" in say(client, ME, "人工")  # still queued once


def queued_questions() -> list[tuple[str, HandoverReason, QuestionStatus]]:
    with session_scope() as session:
        return [(q.text, q.reason, q.status) for q in session.scalars(select(Question).order_by(Question.id))]


def test_useful_on_an_entry_read_while_waiting_withdraws_the_question(client, kb, lists_off):
    say(client, ME, "公司想评高企")
    reply = say(client, ME, "1")
    assert "注册成立一年以上" in reply and reply.endswith(answering.WITHDRAW_INVITE)
    assert "撤回" in say(client, ME, "有用")
    assert queued_questions() == [("公司想评高企", HandoverReason.low_confidence, QuestionStatus.withdrawn)]
    with session_scope() as session:
        assert not service.list_questions(session=session)  # gone from the staff queue
        feedback = session.scalars(select(Feedback)).one()
        question = session.scalars(select(Question)).one()
    assert feedback.useful and (question.helped_kind, question.helped_id) == ("faq", feedback.answer_id)
    assert say(client, ME, "人工") == answering.HANDED_OVER  # asked again, it is queued again
    assert queued_questions()[1] == ("公司想评高企", HandoverReason.asked_for_person, QuestionStatus.open)


def test_a_withdrawn_question_given_to_its_entry_is_answered_next_time(client, kb, lists_off):
    say(client, ME, "公司想评高企")
    say(client, ME, "1")
    say(client, ME, "有用")
    with session_scope() as session:
        question = session.scalars(select(Question)).one().id
    r = client.post(f"/api/questions/{question}/add-to-similar", json={}, headers=staff_headers(client, Role.editor))
    assert r.status_code == 200
    search.reset()
    reply = say(client, "oAsk000002", "公司想评高企")
    assert reply.startswith("高新技术企业认定需要什么条件？\n") and "注册成立一年以上" in reply


def test_not_useful_on_an_entry_read_while_waiting_keeps_the_question_queued(client, kb, lists_off):
    say(client, ME, "公司想评高企")
    say(client, ME, "1")
    assert "您的问题已转人工" in say(client, ME, "没用")
    assert queued_questions() == [("公司想评高企", HandoverReason.low_confidence, QuestionStatus.open)]


def test_useful_after_staff_answered_leaves_the_answer_alone(client, kb, lists_off):
    say(client, ME, "公司想评高企")
    say(client, ME, "1")
    with session_scope() as session:
        session.scalars(select(Question)).one().status = QuestionStatus.answered
    assert say(client, ME, "有用") == "感谢您的反馈！"
    assert queued_questions() == [("公司想评高企", HandoverReason.low_confidence, QuestionStatus.answered)]


def test_person_after_an_answer_hands_that_question_over(client, kb):
    say(client, ME, "社保卡丢了怎么办")
    assert say(client, ME, "人工") == answering.HANDED_OVER
    with session_scope() as session:
        q = session.scalars(select(Question)).one()
        asked = session.scalars(select(AskedQuestion)).one()
    assert q.text == "社保卡丢了怎么办" and q.reason is HandoverReason.asked_for_person
    assert asked.outcome is AskOutcome.asked_for_person


@pytest.mark.parametrize("word, useful", [("有用", True), ("没用", False)])
def test_feedback_is_recorded_once_per_answer(client, kb, word, useful):
    say(client, ME, "社保卡丢了怎么办")
    assert "感谢" in say(client, ME, word)
    assert "没有可以评价" in say(client, ME, word)
    with session_scope() as session:
        fb = session.scalars(select(Feedback)).one()
    assert (fb.question, fb.answer_kind, fb.useful) == ("社保卡丢了怎么办", "faq", useful)
    assert fb.normalized == bot_text.normalize("社保卡丢了怎么办？")


TOPICS = [("住房公积金怎么提取？", "购房、租房、退休等情形可以提取。", "住房公积金"),
          ("公积金贷款最多能贷多少？", "最高贷款额度按缴存年限和余额确定。", "住房公积金"),
          ("个税专项附加扣除有哪些？", "子女教育、继续教育、大病医疗、住房贷款利息、住房租金、赡养老人等。", "税费优惠"),
          ("个人所得税年度汇算怎么办理？", "在个人所得税App上办理年度汇算。", "税费优惠")]


@pytest.fixture
def topics_kb(kb):
    with session_scope() as session:
        for question, answer, category in TOPICS:
            faq.add_from_answer(session=session, question=question, answer=answer, category=category)


@pytest.mark.parametrize("word, entries", [("公积金", {"住房公积金怎么提取？", "公积金贷款最多能贷多少？"}),
                                           ("个税", {"个税专项附加扣除有哪些？", "个人所得税年度汇算怎么办理？"})])
def test_a_bare_topic_word_asks_which_aspect_with_the_topics_entries(client, topics_kb, word, entries):
    reply = say(client, ME, word)
    head, first, second, *rest = reply.split("\n")
    assert head == answering.WHICH_ASPECT and {first[3:], second[3:]} == entries and first.startswith("1. ")
    assert not any(line[:1].isdigit() for line in rest)
    assert queued_questions() == []
    chosen = next(answer for question, answer, _ in TOPICS if question == second[3:])
    assert chosen in say(client, ME, "2")


@pytest.mark.parametrize("word", ["跳过", "好的", "收到"])
def test_words_that_ask_nothing_get_the_help_and_no_ticket(client, kb, word):
    assert say(client, ME, word) == menu.HELP
    assert queued_questions() == []
