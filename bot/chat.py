"""What the webhook's routing table calls for chat messages, menu clicks and follow events.

A running dialog takes a text first; then keywords; anything else is a question. Every text and its
reply are kept in the follower's recent conversation."""
from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from bot import commands, dialogs, memory, menu
from core.db import session_scope
from staff import binding
from subscriptions import service as followers
from wechat.messages import Answer, Inbound

log = logging.getLogger(__name__)


async def on_text(msg: Inbound) -> Answer:
    return Answer(text=await converse(msg.openid, msg.content, msg.msg_id))


async def on_voice(msg: Inbound) -> Answer:
    """Voice with WeChat's speech recognition on reads like text; without it, the help."""
    heard = msg.fields.get("Recognition", "").strip().rstrip("。")
    return Answer(text=await converse(msg.openid, heard, msg.msg_id)) if heard else menu.help_answer(msg)


async def converse(openid: str, text: str, msg_id: str | None) -> str:
    """A keyword with a fixed reply is answered here, on the event loop; everything else (dialogs,
    questions: Redis locks, search, the database) in a thread."""
    text = text.strip()
    if not text:
        return menu.HELP
    try:
        in_dialog = await dialogs.running(openid)
    except RedisError:  # Redis down: keywords and the help still answer, without dialogs or history
        log.warning("conversation state unavailable; answering without it", exc_info=True)
        in_dialog = False
    reply = None if in_dialog else commands.fixed_reply(text)
    if reply is None:
        reply = await asyncio.to_thread(_reply, openid, text, msg_id, in_dialog)
    memory.record_turns(openid, ("user", text), ("bot", reply))
    return reply


def _reply(openid: str, text: str, msg_id: str | None, in_dialog: bool) -> str:
    taken = dialogs.take(openid, text, msg_id) if in_dialog else dialogs.Outcome(None)
    if taken.reply is not None:
        return taken.reply
    reply = commands.dispatch(openid, text)
    if taken.expired:
        reply = f"（您之前的“{taken.expired}”操作已超时结束。）\n{reply}"
    return reply


def on_click(msg: Inbound) -> Answer:
    dialogs.end(msg.openid)  # a menu click starts something new
    return Answer(text=commands.click(msg.openid, msg.event_key))


def on_subscribe(msg: Inbound) -> Answer:
    """A follow, perhaps by scanning a park's QR code (`qrscene_<scene>`) or a staff binding code."""
    scene = msg.event_key.removeprefix("qrscene_")
    if binding.is_binding_scene(scene):
        return Answer(text=_follow(msg, "") + _bind_staff(msg, scene) + "\n" + menu.WELCOME)
    return Answer(text=_follow(msg, scene) + menu.WELCOME)


def on_scan(msg: Inbound) -> Answer:
    """A follower scanned a park's QR code or a staff binding code (EventKey is the scene)."""
    if binding.is_binding_scene(msg.event_key):
        _follow(msg, "")
        return Answer(text=_bind_staff(msg, msg.event_key))
    return Answer(text=_follow(msg, msg.event_key) + menu.HELP)


def _bind_staff(msg: Inbound, scene: str) -> str:
    """The scanning follower becomes the staff member's own WeChat (where test sends go)."""
    try:
        with session_scope() as session:
            user = binding.redeem(session=session, scene=scene, openid=msg.openid)
            name = user.username if user else None
    except RedisError:
        log.warning("staff binding unavailable: Redis unreachable", exc_info=True)
        return "系统繁忙，暂时无法绑定员工账号，请稍后再扫码。"
    if name is None:
        return "该员工绑定二维码已使用或已过期，请在工作台“我的账号”中重新生成。"
    return f"已将此微信绑定到员工账号“{name}”，测试发送将发到这里。"


def _follow(msg: Inbound, scene: str) -> str:
    """Record the follow and the scene; a greeting naming the park when the scene is a park's."""
    with session_scope() as session:
        followers.follow(session=session, openid=msg.openid, at=msg.created_at, qr_scene=scene or None)
        park = followers.get_park_by_scene(session=session, scene=scene) if scene else None
    return f"欢迎“{park.name}”的朋友！绑定企业时可选择该园区。\n" if park else ""


def on_unsubscribe(msg: Inbound) -> None:
    """Unfollowing stops every push (the follower's state); the chat forgets the conversation."""
    with session_scope() as session:
        followers.unfollow(session=session, openid=msg.openid, at=msg.created_at)
    dialogs.end(msg.openid)
    memory.forget(msg.openid)
