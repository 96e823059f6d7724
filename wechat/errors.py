"""WeChat error codes grouped by what the caller must do about them (DESIGN.md)."""
from __future__ import annotations

import enum

from wechatpy.exceptions import WeChatClientException

BUSY = -1
TOKEN_INVALID = frozenset({40001, 42001, 40014})
QUOTA_USED = 45009
RECIPIENT_GONE = frozenset({43004, 40003})
BAD_TEMPLATE = 40037
BAD_TEMPLATE_VALUE = 47003  # "argument invalid! data.thing1.value invalid": the same value goes to everyone
OUTSIDE_WINDOW = 45015
OUT_OF_RESPONSES = 45047  # the customer-service allowance is used up (wechat/allowance.py)


class Action(enum.StrEnum):
    retry = "retry"              # back off and try again
    refresh_token = "refresh"    # the client already refreshed once; still failing means retry later
    pause_quota = "pause"        # daily quota used: wait for the reset
    drop_recipient = "drop"      # unfollowed or bad openid: never retry
    stop_campaign = "stop"       # configuration error staff must fix
    other_channel = "channel"    # no customer-service message may go now: outside the window, or its allowance used
    fail = "fail"                # anything else: record and move on


def action_for(exc: WeChatClientException) -> Action:
    code = exc.errcode
    if code is None or code == BUSY:  # HTTP or network failure, or WeChat busy
        return Action.retry
    if code in TOKEN_INVALID:
        return Action.refresh_token
    if code == QUOTA_USED:
        return Action.pause_quota
    if code in RECIPIENT_GONE:
        return Action.drop_recipient
    if code in (BAD_TEMPLATE, BAD_TEMPLATE_VALUE):
        return Action.stop_campaign
    if code in (OUTSIDE_WINDOW, OUT_OF_RESPONSES):
        return Action.other_channel
    return Action.fail
