"""The routing table: which handler answers which message or event. Keywords and menu clicks are
routed further by the bot's own table (`bot.commands`)."""
from __future__ import annotations

from collections.abc import Callable

from bot import chat, menu
from push import receipts
from wechat.messages import Answer, Inbound

Handler = Callable[[Inbound], Answer | None]


def ignore(_msg: Inbound) -> None:
    """Events that need no reply (WeChat expects `success`)."""


ROUTES: dict[str, Handler] = {
    "text": chat.on_text,
    "voice": chat.on_voice,
    "event.subscribe": chat.on_subscribe,
    "event.scan": chat.on_scan,
    "event.unsubscribe": chat.on_unsubscribe,
    "event.click": chat.on_click,
    "event.view": ignore,
    "event.location": ignore,
    "event.templatesendjobfinish": receipts.record_receipt,
    "event.masssendjobfinish": receipts.record_receipt,
}


def route(msg: Inbound) -> Handler:
    return ROUTES.get(msg.route, menu.unsupported)
