"""WeChat's error codes and messages, as the public docs list them; errors travel as HTTP 200."""
from __future__ import annotations

import itertools
import os
from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40032: "invalid openid list size",
    40029: "invalid code",
    40037: "invalid template_id",
    40053: "invalid action info",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45028: "has no masssend quota",
    45056: "too many tags now, no need to add new",
    45058: "can't modify sys tag",
    45059: "tag count of one user exceeds the limit",
    45065: "clientmsgid exist",
    45067: "clientmsgid length exceeds the limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}

# Real errmsgs end in a request id; callers must match on errcode, never on the text.
_rid = itertools.count(int.from_bytes(os.urandom(3), "big"))


class ApiError(Exception):
    """Raised by an API handler; answered as {"errcode", "errmsg"} with HTTP 200."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(errcode)
        self.errcode, self.detail = errcode, detail  # detail: what WeChat names, e.g. data.thing1.value invalid


def error_body(errcode: int, detail: str = "") -> dict[str, Any]:
    text = " ".join(x for x in (ERRMSG.get(errcode, "error"), detail) if x)
    return {"errcode": errcode, "errmsg": f"{text} rid: {next(_rid):x}"}


OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
