"""A small engine for multi-turn chat dialogs.

A dialog is a set of named steps; each step is a function `(state, text) -> Turn`: what to reply and
which step comes next (None ends the dialog). A step may also return `PASS` to end the dialog and let
the text be handled as an ordinary message (a follower who asks a question instead of picking a number).

State lives in Redis per follower as JSON. It carries the MsgId of the last message a step handled and
what that message got, so a message WeChat sends again (after the webhook's de-duplication forgot it,
or while a slow handler was still running) gets the same reply without applying the step twice.
`取消` ends any dialog. A dialog nobody answers expires after `BOT_DIALOG_TTL` seconds; the next message
is told so and then answered normally.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from redis.exceptions import LockError

from core.redis import get_autopipeline, get_redis
from core.settings import get_settings

CANCEL_WORDS = frozenset({"取消", "退出"})
NOTICE_SECONDS = 24 * 3600  # an expired dialog is remembered this long, to say that it expired
DONE_SECONDS = 60  # a finished dialog's last reply is kept for re-sent messages (WeChat retries for ~15 s)
LOCK_SECONDS = 10


class Turn(NamedTuple):
    reply: str | None
    next: str | None = None  # the next step; None ends the dialog


PASS = Turn(None, None)  # end the dialog; the text is handled as an ordinary message


@dataclass
class State:
    openid: str
    dialog: str
    step: str
    data: dict = field(default_factory=dict)
    expires_at: float = 0.0
    msg_id: str | None = None  # the last message a step handled
    reply: str = ""  # and what it replied
    done: bool = False


Step = Callable[[State, str], Turn]


@dataclass(frozen=True)
class Dialog:
    name: str
    title: str  # how messages name it: 绑定企业, 订阅 …
    steps: dict[str, Step]
    cancelled: str | None = None  # the reply to `取消`, when the dialog has more to say than that it ended


class Outcome(NamedTuple):
    reply: str | None  # None: no dialog took the text
    expired: str | None = None  # the title of a dialog that expired unanswered


_registry: dict[str, Dialog] = {}


def register(dialog: Dialog) -> Dialog:
    _registry[dialog.name] = dialog
    return dialog


def _key(openid: str) -> str:
    return f"bot:dialog:{openid}"


def load(openid: str) -> State | None:
    raw = get_redis().get(_key(openid))
    return State(**json.loads(raw)) if raw else None


def _save(state: State, keep: int) -> None:
    get_redis().set(_key(state.openid), json.dumps(asdict(state), ensure_ascii=False), ex=keep)


def begin(openid: str, dialog: Dialog, *, step: str, reply: str, data: dict | None = None,
          msg_id: str | None = None) -> str:
    """Start (or restart) `dialog` at `step` for a follower; returns `reply` for convenience."""
    ttl = get_settings().bot_dialog_ttl
    _save(State(openid, dialog.name, step, data or {}, time.time() + ttl, msg_id, reply), ttl + NOTICE_SECONDS)
    return reply


async def running(openid: str) -> bool:
    """Whether a dialog (or what is kept of one that ended) is waiting for the follower's next text."""
    return bool(await get_autopipeline().execute("EXISTS", _key(openid)))


def end(openid: str) -> None:
    get_redis().delete(_key(openid))


def take(openid: str, text: str, msg_id: str | None) -> Outcome:
    """Let the follower's running dialog handle `text`, if there is one."""
    lock = get_redis().lock(f"bot:dialog-lock:{openid}", timeout=LOCK_SECONDS, blocking_timeout=3)
    if not lock.acquire():  # one message of a follower at a time
        raise LockError(f"dialog of {openid[:6]}… busy for 3 s")
    try:
        return _take(openid, text, msg_id)
    finally:
        try:
            lock.release()
        except LockError:  # held past LOCK_SECONDS: it expired by itself, nothing to release
            pass


def _take(openid: str, text: str, msg_id: str | None) -> Outcome:
    state = load(openid)
    if state is None:
        return Outcome(None)
    if msg_id is not None and state.msg_id == msg_id:
        return Outcome(state.reply)  # the same message again: same reply, step not applied twice
    dialog = _registry.get(state.dialog)
    if state.done or dialog is None or state.step not in dialog.steps:
        end(openid)
        return Outcome(None)
    if time.time() > state.expires_at:
        end(openid)
        return Outcome(None, expired=dialog.title)
    if text in CANCEL_WORDS:
        turn = Turn(dialog.cancelled or f"已取消“{dialog.title}”。需要帮助请回复“帮助”。")
    else:
        turn = dialog.steps[state.step](state, text)
    if turn.reply is None:
        end(openid)
        return Outcome(None)
    state.msg_id, state.reply = msg_id, turn.reply
    if turn.next is None:
        state.done = True
        _save(state, DONE_SECONDS)
    else:
        ttl = get_settings().bot_dialog_ttl
        state.step, state.expires_at = turn.next, time.time() + ttl
        _save(state, ttl + NOTICE_SECONDS)
    return Outcome(turn.reply)
