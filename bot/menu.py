"""The help menu: what a follower can type or press."""
from __future__ import annotations

from wechat.messages import Answer, Inbound

HELP = (
    "您好，这里是政策服务号。您可以：\n"
    "· 直接输入问题，例如“高新技术企业有什么补贴”\n"
    "· 回复“绑定企业”绑定您的企业\n"
    "· 回复“订阅”选择关注的政策主题\n"
    "· 回复“人工”转人工服务\n"
    "· 回复“帮助”再次查看本菜单"
)
WELCOME = "感谢关注！\n" + HELP


def help_answer(_msg: Inbound) -> Answer:
    return Answer(text=HELP)


def unsupported(msg: Inbound) -> Answer:
    """Anything we cannot read yet (a location, a mini-program card…) gets a polite help reply."""
    return Answer(text="暂时无法识别这类消息，请发送文字。\n" + HELP)
