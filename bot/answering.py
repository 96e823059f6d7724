"""Questions answered from the policy library and FAQ, a numbered list for close matches, and the hand-over
to staff (with related entries to read meanwhile) when nothing is close or the follower asks for a person; a bare
topic word gets its entries to choose from, a message that asks nothing the help."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot import dialogs, memory, menu, service
from bot import text as bot_text
from bot.models import AskOutcome, HandoverReason
from core.db import session_scope
from core.settings import get_settings
from policies.search import Candidate, find_answers, knows, on_topic

FEEDBACK_INVITE = "\n\n回复“有用”或“没用”告诉我们这个答复是否有帮助。"
# An entry read while a person is asked: "useful" means the question is answered and staff need not.
WITHDRAW_INVITE = "\n\n如果这条已经解答了您的问题，请回复“有用”，我们将撤回人工咨询；回复“没用”则继续等待工作人员答复。"
HANDED_OVER = "已转人工，工作人员答复后会通过本服务号回复您。"
NO_ANSWER = "抱歉，暂时没有找到确切的答复。"
WHILE_WAITING = "等待期间，您也可以看看这些相关内容，回复序号查看："
WHICH_ASPECT = "您想了解哪方面？请回复序号查看："
# A message this short that shares no word with the library (好的, 跳过, 收到) is no question: it gets the help.
NOT_A_QUESTION_CHARS = 4
# Candidates weighed and, at most, listed: the right entry is among the best five far more often than the best three
# (bench/answers.py), and five short titles still read at a glance.
CHOICES = 5


@dataclass(frozen=True, slots=True)
class Decision:
    """What the chat makes of a message, before acting on it. `kind`: "topic" (a topic's entries to choose
    from), "answer" (one), "choices" (close candidates), "help" (the message asks nothing) or "hand_over"
    (`offered` then holds the related entries to read meanwhile); `found` the candidates weighed."""

    kind: str
    found: list[Candidate]
    offered: list[Candidate]
    reply: str


def decide(question: str) -> Decision:
    """The chat's decision and reply; acts on nothing (the console's 试一试 shows it as it is)."""
    topic, total = on_topic(question)
    if topic:
        more = f"（共{total}条，这里列出{len(topic)}条；也可以直接输入更具体的问题。）" if total > len(topic) else ""
        return Decision("topic", topic, topic, format_choices(topic, head=WHICH_ASPECT) + more)
    found = find_answers(question, k=CHOICES)
    close = choose(found)
    if not close:
        if len(bot_text.normalize(question)) <= NOT_A_QUESTION_CHARS and not knows(question):
            return Decision("help", found, [], menu.HELP)
        related = [c for c in found if c.confidence >= get_settings().answer_list_floor]
        reply = f"{NO_ANSWER}{HANDED_OVER}\n\n{format_choices(related, head=WHILE_WAITING)}" if related \
            else NO_ANSWER + HANDED_OVER
        return Decision("hand_over", found, related, reply)
    if len(close) == 1 and close[0].confidence >= get_settings().answer_confidence:
        return Decision("answer", found, close, format_answer(close[0]))
    return Decision("choices", found, close, format_choices(close))


def answer_question(openid: str, question: str) -> str:
    """The reply to a question typed in the chat: a topic's entries to choose from, one answer, a numbered list
    of close candidates, the help for a message that asks nothing, or a person when nothing is close."""
    decision = decide(question)
    if decision.kind == "help":
        return decision.reply
    if decision.kind == "hand_over":
        queued = _queue(openid, question, HandoverReason.low_confidence)
        if not decision.offered:
            return decision.reply
        return dialogs.begin(openid, CHOICE, step="pick", reply=decision.reply,
                             data={"question": question, "options": [_option(c) for c in decision.offered],
                                   "queued": queued})
    if decision.kind == "answer":
        best = decision.offered[0]
        with session_scope() as session:
            asked = service.log_ask(session=session, text=question, outcome=AskOutcome.answered,
                                    answer_kind=best.kind, answer_id=best.id, confidence=best.confidence)
        memory.remember_question(openid, text=question, asked_id=asked.id)
        memory.remember_answer(openid, question=question, kind=best.kind, answer_id=best.id)
        return decision.reply
    return _offer(openid, question, decision.offered, decision.reply)


def _offer(openid: str, question: str, options: list[Candidate], reply: str) -> str:
    """A numbered list to choose from (no ticket: `人工` hands the question over)."""
    with session_scope() as session:
        asked = service.log_ask(session=session, text=question, outcome=AskOutcome.choices,
                                confidence=max(c.confidence for c in options))
    memory.remember_question(openid, text=question, asked_id=asked.id)
    return dialogs.begin(openid, CHOICE, step="pick", reply=reply,
                         data={"question": question, "options": [_option(c) for c in options]})


def choose(candidates: list[Candidate], settings: Any = None) -> list[Candidate]:
    """What to offer: nothing (hand over), one confident answer, or a numbered list of the close candidates.

    One answer when the best is at least `answer_confidence` likely and no other is within `answer_close_margin`
    of it; else the candidates at least `answer_list_floor` likely, when together they are at least
    `answer_list_confidence` likely (a confident best with close rivals is such a list too). `settings` holds
    those four (default: the settings in use; bench/answers.py tries others)."""
    settings = settings or get_settings()
    ranked = sorted(candidates, key=lambda c: -c.confidence)
    if not ranked:
        return []
    best = ranked[0]
    if best.confidence >= settings.answer_confidence:
        return [c for c in ranked if best.confidence - c.confidence <= settings.answer_close_margin]
    listed = [c for c in ranked if c.confidence >= settings.answer_list_floor]
    return listed if sum(c.confidence for c in listed) >= settings.answer_list_confidence else []


def format_answer(c: Candidate, invite: str = FEEDBACK_INVITE) -> str:
    """One answer within WeChat's size limit: a warning first when the policy is not in force, the
    link to the full page and the invitation to give feedback last."""
    warning = f"【注意】{c.status_note or '该政策已不在有效期内'}，以下内容仅供参考。\n" if not c.in_force else ""
    head = f"{warning}{bot_text.cut(c.title, 300)}\n"
    tail = f"\n详见：{c.url}" + invite
    return bot_text.fit(head, c.answer.strip(), tail)


def format_choices(candidates: list[Candidate], head: str = "找到几条相关内容，请回复序号查看：") -> str:
    lines = [head]
    for n, c in enumerate(candidates, start=1):
        note = f"（{c.status_note or '已失效'}）" if not c.in_force else ""
        lines.append(f"{n}. {bot_text.cut(c.title, 300)}{note}")
    lines.append("也可以直接输入新的问题。")
    return "\n".join(lines)


def _option(c: Candidate) -> dict[str, Any]:
    return asdict(c)


def pick(state: dialogs.State, text: str) -> dialogs.Turn:
    options = state.data["options"]
    choice = bot_text.number(text)
    if choice is None:
        return dialogs.PASS  # not a number: a new question
    if not 1 <= choice <= len(options):
        return dialogs.Turn(f"没有第 {choice} 条，请回复 1-{len(options)} 之间的序号，"
                            "或回复“取消”。", "pick")
    chosen = Candidate(**options[choice - 1])
    queued = state.data.get("queued")
    memory.remember_answer(state.openid, question=state.data["question"], kind=chosen.kind,
                           answer_id=chosen.id, queued=queued)
    return dialogs.Turn(format_answer(chosen, WITHDRAW_INVITE if queued else FEEDBACK_INVITE))


CHOICE = dialogs.register(dialogs.Dialog("choice", "选择答复", {"pick": pick}))


# --- hand-over to a person ---------------------------------------------------------------------

def hand_over(openid: str, question: str, reason: HandoverReason, *, asked_id: int | None = None) -> str:
    """Queue the question for staff; tells the follower so."""
    _queue(openid, question, reason, asked_id=asked_id)
    return HANDED_OVER


def _queue(openid: str, question: str, reason: HandoverReason, *, asked_id: int | None = None) -> int:
    """Queue the question for staff with the recent conversation; returns the queued question's id."""
    with session_scope() as session:
        if asked_id is None:
            asked_id = service.log_ask(session=session, text=question, outcome=AskOutcome(reason.value)).id
        else:
            service.mark_handed_over(session=session, asked_id=asked_id)
        queued = service.hand_over(session=session, openid=openid, text=question, reason=reason,
                                   conversation=memory.recent_turns(openid))
    memory.remember_question(openid, text=question, asked_id=asked_id, question_id=queued.id)
    return queued.id


def ask_for_person(openid: str) -> str:
    """`人工`: the last question goes to staff, or the follower is asked what it is."""
    last = memory.last_question(openid)
    if last and last.get("question_id"):
        return "您的问题已转人工，请耐心等待，工作人员答复后会通过本服务号回复您。"
    if last:
        return hand_over(openid, last["text"], HandoverReason.asked_for_person, asked_id=last["asked_id"])
    return dialogs.begin(openid, PERSON, step="question",
                         reply="请输入您要咨询的问题，我们将转给工作人员。回复“取消”退出。")


def person_question(state: dialogs.State, text: str) -> dialogs.Turn:
    if len(bot_text.normalize(text)) < 2:
        return dialogs.Turn("请用一句话描述您的问题，或回复“取消”。", "question")
    return dialogs.Turn(hand_over(state.openid, text, HandoverReason.asked_for_person))


PERSON = dialogs.register(dialogs.Dialog("person", "转人工", {"question": person_question}))


def feedback(openid: str, useful: bool) -> str:
    """`有用` / `没用` on the last answer."""
    last = memory.take_answer(openid)
    if last is None:
        return "目前没有可以评价的答复。"
    queued = last.get("queued")
    with session_scope() as session:
        service.record_feedback(session=session, openid=openid, question=last["question"],
                                answer_kind=last["kind"], answer_id=last["id"], useful=useful)
        withdrawn = useful and queued and service.withdraw_question(
            session=session, question_id=queued, helped_kind=last["kind"], helped_id=last["id"])
    if withdrawn:
        asked = memory.last_question(openid)
        if asked and asked.get("question_id") == queued:  # so that 人工 queues it again
            memory.remember_question(openid, text=asked["text"], asked_id=asked["asked_id"])
        return "感谢您的反馈！您的人工咨询已撤回；如仍需工作人员解答，请回复“人工”。"
    if useful:
        return "感谢您的反馈！"
    if queued:
        return "感谢反馈。您的问题已转人工，工作人员答复后会通过本服务号回复您。"
    return "感谢反馈，我们会改进答复。需要工作人员解答请回复“人工”。"
