"""message/template/send, template/get_all_private_template, message/custom/send, message/mass/sendall,
message/mass/send and message/mass/preview."""
from __future__ import annotations

import random
from typing import Any

from sandbox.call import Call, Json, Registry
from sandbox import templates
from sandbox.errors import OK, ApiError, error_body
from sandbox.state import MASS_DEDUPE_SECONDS

api = Registry()
CUSTOM_TYPES = frozenset({"text", "image", "voice", "video", "music", "news", "mpnews",
                          "mpnewsarticle", "msgmenu", "wxcard", "miniprogrampage", "link"})
MASS_TYPES = frozenset({"text", "mpnews", "image", "voice", "mpvideo", "wxcard"})
MASS_SENDER = "oSandboxMassSendSystem"  # FromUserName of MASSSENDJOBFINISH (not a follower)
CLIENTMSGID_BYTES = 64


@api.route("message/template/send", body=True)
def template_send(call: Call) -> Json:
    state, knobs, body = call.state, call.state.knobs, call.body
    touser = call.openid(body.get("touser"))
    template_id = body.get("template_id")
    template = knobs.templates.get(template_id) if isinstance(template_id, str) else None
    if template is None:
        raise ApiError(40037)
    rows = templates.check(template, call.object(body.get("data", {})))
    if not state.is_following(touser):
        raise ApiError(43004)
    client_msg_id = body.get("client_msg_id")
    key = (touser, str(client_msg_id))
    if client_msg_id:
        state.clean_dedupe()
        if key in state.dedupe:  # a retry: same answer, nothing sent again
            state.stats["template_deduped"] += 1
            return {**OK, "msgid": state.dedupe[key][0]}
    quota_key = ("template", state.today())
    if state.daily[quota_key] >= knobs.daily_quota:
        raise ApiError(45009)
    state.daily[quota_key] += 1
    msgid = next(state.msgids)
    if touser in knobs.blocked:
        status = "failed:user block"
    elif knobs.system_fail_rate and random.random() < knobs.system_fail_rate:
        status = "failed: system failed"
    else:
        status = "success"
    entry = state.add_entry([touser], {
        "dir": "out", "kind": "template", "touser": touser, "msgid": msgid, "status": status,
        "text": template_text(template["title"], rows, body.get("url")),
        "card": template_card(template["title"], rows, body), "body": body}, record=True)
    if client_msg_id:
        state.dedupe[key] = (msgid, entry["at"])
    state.stats["template"] += 1
    if knobs.receipts:
        call.poster.enqueue_receipt(_event(call, touser, "TEMPLATESENDJOBFINISH", MsgID=msgid,
                                           Status=status), knobs.receipt_delay_ms / 1000)
    return {**OK, "msgid": msgid}


@api.route("template/get_all_private_template", body=False)
def list_templates(call: Call) -> Json:
    return {"template_list": [
        {"template_id": template_id, "title": t["title"], "primary_industry": "政府与公共事业",
         "deputy_industry": "政府|政务", "content": t["content"], "example": ""}
        for template_id, t in call.state.knobs.templates.items()]}


@api.route("message/custom/send", body=True)
def custom_send(call: Call) -> Json:
    state, body = call.state, call.body
    touser = call.openid(body.get("touser"))
    msgtype = body.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        raise ApiError(40008)
    content = call.object(body.get(msgtype))
    if msgtype == "text" and not str(content.get("content", "")).strip():
        raise ApiError(44004)
    if not state.is_following(touser):
        raise ApiError(43004)
    refused = state.take_custom(touser)
    if refused:
        raise ApiError(refused)
    entry = {"dir": "out", "kind": "custom", "touser": touser, "msgid": next(state.msgids),
             "status": "success", "text": message_text(msgtype, content), "body": body}
    if msgtype == "news":
        entry["card"] = news_card(content.get("articles"))
    state.add_entry([touser], entry, record=True)
    state.stats["custom"] += 1
    return dict(OK)


@api.route("message/mass/sendall", body=True)
def mass_sendall(call: Call) -> Json:
    state = call.state
    filter_ = call.object(call.body.get("filter"))
    if filter_.get("is_to_all"):
        openids = [f.openid for f in state.followers.values() if f.subscribed]
    else:  # wechatpy still sends the old name, group_id
        tag_id = call.integer(filter_.get("tag_id", filter_.get("group_id")), 45159)
        if tag_id not in state.tags:
            raise ApiError(45159)
        openids = [f.openid for f in state.followers.values() if tag_id in f.tags]
    return _mass(call, openids)


@api.route("message/mass/send", body=True)
def mass_send(call: Call) -> Json:
    touser = call.body.get("touser")
    if not isinstance(touser, list):
        raise ApiError(47001)
    if len(touser) < 2:  # WeChat refuses a mass send to a single openid
        raise ApiError(40130)
    if len(touser) > 10_000:
        raise ApiError(40032)
    return _mass(call, [call.openid(o) for o in dict.fromkeys(touser)])


@api.route("message/mass/preview", body=True)
def mass_preview(call: Call) -> Json:
    """A mass message shown to one follower only (staff checking it): no quota, no receipt."""
    state = call.state
    touser = call.openid(call.body.get("touser"))
    msgtype, content = _mass_content(call)
    if not state.is_following(touser):
        raise ApiError(43004)
    msg_id = next(state.msgids)
    state.add_entry([touser], {
        "dir": "out", "kind": "preview", "touser": touser, "msgid": msg_id, "status": "success",
        "text": message_text(msgtype, content), "body": call.body}, record=True)
    state.stats["preview"] += 1
    return {**OK, "msg_id": msg_id}


def _mass_content(call: Call) -> tuple[str, Json]:
    msgtype = call.body.get("msgtype")
    if msgtype not in MASS_TYPES:
        raise ApiError(40008)
    content = call.object(call.body.get(msgtype))
    if msgtype == "text" and not str(content.get("content", "")).strip():
        raise ApiError(44004)
    return msgtype, content


def _mass(call: Call, openids: list[str]) -> Json:
    state, knobs, body = call.state, call.state.knobs, call.body
    msgtype, content = _mass_content(call)
    clientmsgid = body.get("clientmsgid")
    if clientmsgid is not None:
        clientmsgid = str(clientmsgid)
        if len(clientmsgid.encode()) > CLIENTMSGID_BYTES:
            raise ApiError(45067)
        first = state.mass_dedupe.get(clientmsgid)
        if first is not None and state.clock() - first[1] < MASS_DEDUPE_SECONDS:
            # a repeat within 24 h sends nothing; the error names the first send's msg_id
            state.errors[45065] += 1
            return {**error_body(45065), "msg_id": first[0]}
    month_key = ("mass", state.this_month())
    if state.monthly[month_key] >= knobs.mass_monthly_limit:
        raise ApiError(45028)
    state.monthly[month_key] += 1
    following = [o for o in openids if state.is_following(o)]
    delivered = [o for o in following if o not in knobs.blocked]
    msg_id = next(state.msgids)
    counts = {"TotalCount": len(openids), "FilterCount": len(following),
              "SentCount": len(delivered), "ErrorCount": len(following) - len(delivered)}
    entry = state.add_entry(delivered, {
        "dir": "out", "kind": "mass", "touser": delivered, "msgid": msg_id,
        "status": "send success", "counts": counts, "text": message_text(msgtype, content),
        "body": body}, record=True)
    if clientmsgid is not None:
        state.mass_dedupe[clientmsgid] = (msg_id, entry["at"])
    state.stats["mass"] += 1
    if knobs.receipts:
        call.poster.enqueue_receipt(_event(call, MASS_SENDER, "MASSSENDJOBFINISH", MsgID=msg_id,
                                           Status="send success", **counts),
                                    knobs.receipt_delay_ms / 1000)
    return {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id,
            "msg_data_id": msg_id + 1_000_000_000}


def _event(call: Call, openid: str, event: str, **extra: Any) -> Json:
    return {"ToUserName": call.state.config.account, "FromUserName": openid,
            "CreateTime": int(call.state.clock()), "MsgType": "event", "Event": event, **extra}


def template_text(title: str, rows: list[tuple[str, str]], url: str | None) -> str:
    """What the follower reads: the template's title and its labelled rows (no first, no remark), then
    the link behind 查看详情."""
    lines = [title, *(f"{label}：{value}" for label, value in rows)]
    return "\n".join([*lines, *([f"查看详情 {url}"] if url else [])])


def template_card(title: str, rows: list[tuple[str, str]], body: Json) -> Json:
    """The card the simulator draws. WeChat opens the mini-program when both it and a url are given (the
    url is for clients that cannot)."""
    mini = body.get("miniprogram")
    url = body.get("url")
    return {"type": "template", "title": title, "rows": [list(row) for row in rows],
            "url": url if isinstance(url, str) and url else None,
            "miniprogram": {"appid": str(mini.get("appid", "")), "pagepath": str(mini.get("pagepath", ""))}
            if isinstance(mini, dict) else None}


def news_card(articles: Any) -> Json:
    """A news (图文) message's articles as the simulator draws them; `articles` as the API or, with the
    passive reply's capitalised tags lowered, the XML names them (title, description, url, picurl)."""
    return {"type": "news", "articles": [
        {k: str(a.get(k) or "") for k in ("title", "description", "url", "picurl")}
        for a in (articles if isinstance(articles, list) else []) if isinstance(a, dict)]}


def message_text(msgtype: str, content: Json) -> str:
    if msgtype == "text":
        return str(content.get("content", ""))
    if msgtype == "news":
        return "\n".join(f"{a.get('title', '')} {a.get('url', '')}".strip()
                         for a in content.get("articles", []) if isinstance(a, dict))
    if msgtype == "link":
        return f"{content.get('title', '')} {content.get('url', '')}".strip()
    return f"[{msgtype}] " + ", ".join(f"{k}={v}" for k, v in content.items())
