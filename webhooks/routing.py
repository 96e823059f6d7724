"""The routing table: which handler answers which message or event."""
from __future__ import annotations

from collections.abc import Callable

from bot import menu
from core.db import session_scope
from subscriptions import service as followers
from wechat.messages import Answer, Inbound

Handler = Callable[[Inbound], Answer | None]


def on_subscribe(msg: Inbound) -> Answer:
    scene = msg.event_key.removeprefix("qrscene_") or None
    with session_scope() as session:
        followers.follow(session=session, openid=msg.openid, at=msg.created_at, qr_scene=scene)
    return Answer(text=menu.WELCOME)


def on_scan(msg: Inbound) -> Answer:
    with session_scope() as session:
        followers.follow(session=session, openid=msg.openid, at=msg.created_at,
                         qr_scene=msg.event_key or None)
    return menu.help_answer(msg)


def on_unsubscribe(msg: Inbound) -> None:
    with session_scope() as session:
        followers.unfollow(session=session, openid=msg.openid, at=msg.created_at)


def ignore(_msg: Inbound) -> None:
    """Events that need no reply (WeChat expects `success`)."""


ROUTES: dict[str, Handler] = {
    "text": menu.help_answer,
    "voice": menu.help_answer,
    "event.subscribe": on_subscribe,
    "event.scan": on_scan,
    "event.unsubscribe": on_unsubscribe,
    "event.click": menu.help_answer,
    "event.view": ignore,
    "event.location": ignore,
    "event.templatesendjobfinish": ignore,
    "event.masssendjobfinish": ignore,
}


def route(msg: Inbound) -> Handler:
    return ROUTES.get(msg.route, menu.unsupported)
