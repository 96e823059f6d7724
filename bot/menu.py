"""The account's custom menu as data, and the help text: what a follower can type or press.

Every click button's key is an EventKey in `bot.commands.CLICKS`; `publish()` sends the menu to WeChat
(`menu/create`), e.g. from the CLI after a change."""
from __future__ import annotations

from typing import Any

from wechat.messages import Answer, Inbound

HELP = (
    "您好，这里是政策服务号。您可以：\n"
    "· 直接输入问题，例如“高新技术企业有什么补贴”\n"
    "· 回复“绑定企业”绑定您的企业，“核验企业”核验绑定，“解绑”解除绑定\n"
    "· 回复“订阅”选择关注的政策主题，“我的订阅”查看，“退订 序号”或“退订全部”退订\n"
    "· 回复“暂停推送”暂停全部推送（含与您企业相关的），“恢复推送”恢复\n"
    "· 回复“问卷”参与政策意见征集\n"
    "· 回复“人工”转人工服务\n"
    "· 回复“帮助”再次查看本菜单"
)
WELCOME = "感谢关注！\n" + HELP

# Three top-level buttons of at most five each (WeChat's limits); keys are EventKeys of CLICKS.
MENU: list[tuple[str, list[tuple[str, str]]]] = [
    ("政策问答", [("我要提问", "ASK"), ("转人工", "PERSON"), ("使用帮助", "HELP")]),
    ("企业服务", [("绑定企业", "BIND"), ("解绑企业", "UNBIND"), ("订阅主题", "SUBSCRIBE"),
                  ("我的订阅", "MY_SUBSCRIPTIONS")]),
    ("互动", [("意见征集", "SURVEY")]),
]


def menu_json() -> dict[str, Any]:
    """The body of WeChat's `menu/create`."""
    return {"button": [{"name": name, "sub_button": [{"type": "click", "name": label, "key": key}
                                                     for label, key in items]}
                       for name, items in MENU]}


def publish() -> None:
    """Replace the account's menu with MENU (through WECHAT_API_BASE)."""
    from wechat.client import get_client

    get_client().menu.create(menu_json())


def help_answer(_msg: Inbound) -> Answer:
    return Answer(text=HELP)


def unsupported(msg: Inbound) -> Answer:
    """Anything we cannot read yet (a location, a mini-program card…) gets a polite help reply."""
    return Answer(text="暂时无法识别这类消息，请发送文字。\n" + HELP)
