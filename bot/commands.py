"""The chat's routing table: keywords a follower types and menu clicks (EventKeys) to what answers them.
Anything else is a question for `answering`."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import answering, binding, menu, pushes, survey_chat, topics, verifying

Reply = Callable[[str], str]  # openid -> reply text


@dataclass(frozen=True)
class Command:
    keywords: tuple[str, ...]  # exact texts (after trimming) that run it
    key: str | None  # the menu EventKey that runs it
    run: Reply


@dataclass(frozen=True)
class _Fixed:
    """A reply that is the same for everyone: answered without a thread or a database."""

    reply: str

    def __call__(self, _openid: str) -> str:
        return self.reply


ASK_HINT = "请直接输入您的问题，例如“高新技术企业认定有什么条件”。"
NOTHING_TO_CANCEL = "当前没有需要取消的操作。需要帮助请回复“帮助”。"

COMMANDS: list[Command] = [
    Command(("帮助", "菜单", "你好", "您好", "?", "？", "help"), "HELP", _Fixed(menu.HELP)),
    Command((), "ASK", _Fixed(ASK_HINT)),
    Command(("订阅",), "SUBSCRIBE", topics.start_subscribe),
    Command(("我的订阅",), "MY_SUBSCRIPTIONS", topics.my_subscriptions),
    Command(("退订全部",), None, topics.unsubscribe_all),
    Command(("暂停推送",), None, pushes.pause),
    Command(("恢复推送",), None, pushes.resume),
    Command(("绑定企业", "绑定"), "BIND", binding.start_bind),
    Command(("解绑", "解绑企业"), "UNBIND", binding.start_unbind),
    Command(("核验企业", "核验"), None, verifying.start_check),
    Command(("问卷",), "SURVEY", survey_chat.start),
    Command(("继续问卷",), None, survey_chat.resume),
    Command(("人工", "转人工", "人工服务"), "PERSON", answering.ask_for_person),
    Command(("有用",), None, lambda openid: answering.feedback(openid, useful=True)),
    Command(("没用", "没有用"), None, lambda openid: answering.feedback(openid, useful=False)),
    Command(("取消",), None, _Fixed(NOTHING_TO_CANCEL)),
]
KEYWORDS: dict[str, Command] = {kw.casefold(): c for c in COMMANDS for kw in c.keywords}
CLICKS: dict[str, Command] = {c.key: c for c in COMMANDS if c.key}
# Keywords with an argument: (pattern, handler of openid and the captured argument).
PATTERNS: list[tuple[re.Pattern[str], Callable[[str, str], str]]] = [
    (re.compile(r"^退订\s*(\S.*)$"), topics.unsubscribe_numbers),
]
TOO_SHORT = "请输入完整的问题，例如“小微企业有哪些税收优惠”。回复“帮助”查看功能。"


def fixed_reply(text: str) -> str | None:
    """The reply to `text` when it is a keyword whose reply is the same for everyone."""
    command = KEYWORDS.get("".join(text.split()).casefold())
    return command.run.reply if command is not None and isinstance(command.run, _Fixed) else None


def dispatch(openid: str, text: str) -> str:
    """The reply to a text no dialog took: a keyword, a keyword with an argument, or a question."""
    command = KEYWORDS.get("".join(text.split()).casefold())
    if command is not None:
        return command.run(openid)
    for pattern, run in PATTERNS:
        match = pattern.match(text)
        if match:
            return run(openid, match.group(1))
    if not any(c.isalpha() for c in text):  # a lone number or emoji is no question for staff
        return TOO_SHORT
    return answering.answer_question(openid, text)


def click(openid: str, key: str) -> str:
    command = CLICKS.get(key)
    return command.run(openid) if command else menu.HELP
