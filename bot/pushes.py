"""`暂停推送` and `恢复推送`: a follower stops every push (their enterprise's and their topics' alike) and
turns them back on. Subscriptions and bindings stay as they are meanwhile."""
from __future__ import annotations

from bot import service
from core.db import session_scope
from subscriptions import service as subs
from subscriptions.models import Follower

PAUSED_NOTE = "您已暂停接收全部推送，回复“恢复推送”恢复。"


def is_paused(follower: Follower) -> bool:
    return follower.muted


def pause(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        was_paused = is_paused(follower)
        subs.set_mute(session=session, follower=follower, muted=True)
    if was_paused:
        return "您已暂停接收推送，无需重复操作。回复“恢复推送”恢复。"
    return ("已暂停全部推送：与贵企业相关的政策和您订阅的主题都不会再推送给您，订阅和绑定保持不变。"
            "回复“恢复推送”恢复；您仍可随时直接提问。")


def resume(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        was_paused = is_paused(follower) or follower.muted_until is not None
        subs.set_mute(session=session, follower=follower, muted=False)
    if not was_paused:
        return "您正在接收推送，无需恢复。回复“我的订阅”查看订阅的主题。"
    return "已恢复推送。回复“我的订阅”查看订阅的主题。"
