"""`订阅`, `我的订阅`, `退订 N` and `退订全部`: which policy topics a follower receives. Pausing every push
is another thing (`bot.pushes`); `我的订阅` shows both.

Topics are numbered by their place in the active topic list, the same numbers in every reply."""
from __future__ import annotations

import re

from bot import dialogs, pushes, service
from core.db import session_scope
from subscriptions import service as subs

_SEPARATORS = re.compile(r"[\s,，、;；.。]+")


def _numbered(session) -> list[tuple[int, int, str]]:
    """(number, topic id, name) for every active topic."""
    return [(n, t.id, t.name) for n, t in enumerate(subs.list_topics(session=session), start=1)]


def parse_numbers(text: str) -> list[int] | None:
    """`1 3 5`, `1,3、5` -> [1, 3, 5]; None when anything is not a number."""
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return list(dict.fromkeys(int(p) for p in parts))


def start_subscribe(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        topics = _numbered(session)
        mine = {t.id for t in subs.list_subscriptions(session=session, follower_id=follower.id)}
    if not topics:
        return "暂无可订阅的政策主题。"
    lines = [f"{n}. {name}" + ("（已订阅）" if tid in mine else "") for n, tid, name in topics]
    return dialogs.begin(openid, SUBSCRIBE, step="pick", data={"topics": topics}, reply=(
        "请回复要订阅的主题序号，多个用空格分隔，如“1 3 5”：\n" + "\n".join(lines) + "\n回复“取消”退出。"))


def _pick(state: dialogs.State, text: str) -> dialogs.Turn:
    topics = state.data["topics"]
    numbers = parse_numbers(text)
    if numbers is None:
        return dialogs.Turn("请回复主题序号，多个用空格分隔，如“1 3 5”；或回复“取消”。", "pick")
    wrong = [n for n in numbers if not 1 <= n <= len(topics)]
    if wrong:
        return dialogs.Turn(f"没有序号 {'、'.join(map(str, wrong))}，请回复 1-{len(topics)} 之间的序号。", "pick")
    chosen = [topics[n - 1] for n in numbers]
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=state.openid)
        subs.subscribe(session=session, follower_id=follower.id, topic_ids=[tid for _, tid, _ in chosen])
        paused = pushes.is_paused(follower)
    note = "\n" + pushes.PAUSED_NOTE if paused else ""
    return dialogs.Turn("已订阅：" + "、".join(name for _, _, name in chosen) + "。回复“我的订阅”查看全部。" + note)


SUBSCRIBE = dialogs.register(dialogs.Dialog("subscribe", "订阅", {"pick": _pick}))


def my_subscriptions(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        numbers = {tid: n for n, tid, _ in _numbered(session)}
        mine = subs.list_subscriptions(session=session, follower_id=follower.id)
        paused = pushes.is_paused(follower)
    state = ("推送：已暂停，任何政策都不会推送给您。回复“恢复推送”恢复。" if paused
             else "推送：接收中。回复“暂停推送”可暂停全部推送。")
    if not mine:
        return "您还没有订阅政策主题。回复“订阅”选择主题。\n" + state
    lines = [f"{numbers[t.id]}. {t.name}" if t.id in numbers else f"· {t.name}（已停用）" for t in mine]
    return ("您订阅的主题：\n" + "\n".join(lines) + "\n退订请回复“退订 序号”，如“退订 2”；或“退订全部”。\n"
            + state)


def unsubscribe_numbers(openid: str, text: str) -> str:
    """`退订 2` (or `退订 2 3`)."""
    numbers = parse_numbers(text)
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        topics = _numbered(session)
        if numbers is None:
            return "请回复“退订 序号”，如“退订 2”；序号见“我的订阅”。"
        wrong = [n for n in numbers if not 1 <= n <= len(topics)]
        if wrong:
            return f"没有序号 {'、'.join(map(str, wrong))}。回复“我的订阅”查看您订阅的主题和序号。"
        chosen = [topics[n - 1] for n in numbers]
        removed = subs.unsubscribe(session=session, follower_id=follower.id,
                                   topic_ids=[tid for _, tid, _ in chosen])
    names = "、".join(name for _, _, name in chosen)
    if not removed:
        return f"您没有订阅“{names}”。回复“我的订阅”查看。"
    return f"已退订：{names}。"


def unsubscribe_all(openid: str) -> str:
    """`退订全部`: no topics any more; pushes that concern the follower's enterprises still come."""
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        removed = subs.unsubscribe(session=session, follower_id=follower.id)
        paused = pushes.is_paused(follower)
    head = "已退订全部主题。" if removed else "您没有订阅政策主题，无需退订。"
    if paused:
        return head + pushes.PAUSED_NOTE
    return head + ("其他推送（如与您绑定的企业相关的政策）仍会发给您；不想接收任何推送请回复“暂停推送”。"
                   "回复“订阅”可重新订阅。")
