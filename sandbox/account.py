"""User tags, follower lists, QR codes with scenes and the custom menu."""
from __future__ import annotations

import secrets
from typing import Any

from sandbox.call import Call, Json, Registry
from sandbox.errors import OK, ApiError
from sandbox.state import Follower

api = Registry()
MAX_TAGS, MAX_TAGS_PER_USER, MAX_BATCH, PAGE = 100, 20, 50, 10_000
SYSTEM_TAGS = frozenset({0, 1, 2})
QR_TYPES = {"QR_SCENE": 2_592_000, "QR_STR_SCENE": 2_592_000,  # temporary: max lifetime
            "QR_LIMIT_SCENE": 0, "QR_LIMIT_STR_SCENE": 0}


# --- tags ---------------------------------------------------------------------
def _tag_name(call: Call, value: Any, current: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(45157)
    if len(value.encode()) > 30:
        raise ApiError(45158)
    if any(name == value and tid != current for tid, name in call.state.tags.items()):
        raise ApiError(45157)
    return value


def _tag_id(call: Call, value: Any) -> int:
    tag_id = call.integer(value, 45159)
    if tag_id not in call.state.tags:
        raise ApiError(45159)
    return tag_id


@api.route("tags/create", body=True)
def tags_create(call: Call) -> Json:
    state = call.state
    name = _tag_name(call, call.object(call.body.get("tag")).get("name"))
    if sum(1 for t in state.tags if t not in SYSTEM_TAGS) >= MAX_TAGS:
        raise ApiError(45056)
    tag_id, state.next_tag_id = state.next_tag_id, state.next_tag_id + 1
    state.tags[tag_id] = name
    return {"tag": {"id": tag_id, "name": name}}


@api.route("tags/get", body=False)
def tags_get(call: Call) -> Json:
    followers = call.state.followers.values()
    return {"tags": [{"id": tid, "name": name, "count": sum(tid in f.tags for f in followers)}
                     for tid, name in call.state.tags.items()]}


@api.route("tags/update", body=True)
def tags_update(call: Call) -> Json:
    tag = call.object(call.body.get("tag"))
    tag_id = _tag_id(call, tag.get("id"))
    if tag_id in SYSTEM_TAGS:
        raise ApiError(45058)
    call.state.tags[tag_id] = _tag_name(call, tag.get("name"), tag_id)
    return dict(OK)


@api.route("tags/delete", body=True)
def tags_delete(call: Call) -> Json:
    tag_id = _tag_id(call, call.object(call.body.get("tag")).get("id"))
    if tag_id in SYSTEM_TAGS:
        raise ApiError(45058)
    del call.state.tags[tag_id]
    for follower in call.state.followers.values():
        if tag_id in follower.tags:
            follower.tags.remove(tag_id)
    return dict(OK)


def _batch(call: Call) -> tuple[int, list[Follower]]:
    openids = call.body.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= MAX_BATCH:
        raise ApiError(40032)
    checked = [call.openid(o) for o in openids]
    tag_id = _tag_id(call, call.body.get("tagid"))
    return tag_id, [call.state.follower(o) for o in checked]


@api.route("tags/members/batchtagging", body=True)
def batch_tagging(call: Call) -> Json:
    tag_id, followers = _batch(call)
    new = [f for f in followers if tag_id not in f.tags]
    if any(len(f.tags) >= MAX_TAGS_PER_USER for f in new):  # all or nothing, as WeChat does
        raise ApiError(45059)
    for follower in new:
        follower.tags.append(tag_id)
    return dict(OK)


@api.route("tags/members/batchuntagging", body=True)
def batch_untagging(call: Call) -> Json:
    tag_id, followers = _batch(call)
    for follower in followers:
        if tag_id in follower.tags:
            follower.tags.remove(tag_id)
    return dict(OK)


@api.route("tags/getidlist", body=True)
def tag_id_list(call: Call) -> Json:
    known = call.state.followers.get(call.openid(call.body.get("openid")))
    return {"tagid_list": list(known.tags) if known else []}


@api.route("user/tag/get", body=True)
def tag_users(call: Call) -> Json:
    tag_id = _tag_id(call, call.body.get("tagid"))
    openids = [f.openid for f in call.state.followers.values() if tag_id in f.tags]
    page, next_openid = _page(openids, call.body.get("next_openid"))
    return {"count": len(page), "data": {"openid": page}, "next_openid": next_openid}


# --- followers ----------------------------------------------------------------
@api.route("user/info", body=False)
def user_info(call: Call) -> Json:
    state = call.state
    openid = call.openid(call.query.get("openid"))
    if not state.is_following(openid):
        return {"subscribe": 0, "openid": openid, "tagid_list": []}
    f = state.followers.get(openid) or Follower(openid, subscribe_time=int(state.started_at))
    return {"subscribe": 1, "openid": openid, "nickname": f.nickname, "sex": 0,
            "language": "zh_CN", "city": "", "province": "", "country": "", "headimgurl": "",
            "subscribe_time": f.subscribe_time, "remark": "", "groupid": 0,
            "tagid_list": list(f.tags), "subscribe_scene": f.subscribe_scene,
            "qr_scene": 0, "qr_scene_str": f.qr_scene_str}


@api.route("user/get", body=False)
def user_get(call: Call) -> Json:
    openids = [f.openid for f in call.state.followers.values() if call.state.is_following(f.openid)]
    page, next_openid = _page(openids, call.query.get("next_openid"))
    if not page:  # WeChat leaves out "data" on the page after the last
        return {"total": len(openids), "count": 0, "next_openid": ""}
    return {"total": len(openids), "count": len(page), "data": {"openid": page},
            "next_openid": next_openid}


def _page(openids: list[str], after: Any) -> tuple[list[str], str]:
    start = openids.index(after) + 1 if after and after in openids else 0
    page = openids[start : start + PAGE]
    return page, page[-1] if page else ""


# --- QR codes -----------------------------------------------------------------
@api.route("qrcode/create", body=True)
def qrcode_create(call: Call) -> Json:
    body = call.body
    action = body.get("action_name")
    if action not in QR_TYPES:
        raise ApiError(40053)
    scene = call.object(call.object(body.get("action_info")).get("scene"))
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= 64:
            raise ApiError(40053)
    else:
        value = call.integer(scene.get("scene_id"), 40053)
        if value <= 0 or (action == "QR_LIMIT_SCENE" and value > 100_000):
            raise ApiError(40053)
    ticket = "gQ" + secrets.token_urlsafe(48)
    code = {"ticket": ticket, "action_name": action, "scene": str(value),
            "url": f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"}
    answer = {"ticket": ticket, "url": code["url"]}
    if QR_TYPES[action]:
        seconds = min(call.integer(body.get("expire_seconds", 60), 40053), QR_TYPES[action])
        code["expires_at"] = call.state.clock() + seconds
        answer["expire_seconds"] = seconds
    call.state.qrcodes[ticket] = code
    return answer


# --- menu ---------------------------------------------------------------------
def _check_button(button: Any, top: bool) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("name"), str):
        raise ApiError(40017)
    if len(button["name"].encode()) > (16 if top else 60):
        raise ApiError(40018)
    subs = button.get("sub_button")
    if top and subs:
        if not isinstance(subs, list) or len(subs) > 5:
            raise ApiError(40016)
        for sub in subs:
            _check_button(sub, top=False)
        return
    kind = button.get("type")
    if kind in ("click", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
                "pic_photo_or_album", "pic_weixin", "location_select"):
        key = button.get("key")
        if not isinstance(key, str) or not 1 <= len(key.encode()) <= 128:
            raise ApiError(40019)
    elif kind == "view":
        if not isinstance(button.get("url"), str) or not button["url"]:
            raise ApiError(40017)
    elif kind not in ("miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"):
        raise ApiError(40017)


@api.route("menu/create", body=True)
def menu_create(call: Call) -> Json:
    buttons = call.body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        _check_button(button, top=True)
    call.state.menu = {"button": buttons}
    return dict(OK)


@api.route("menu/get", body=False)
def menu_get(call: Call) -> Json:
    if call.state.menu is None:
        raise ApiError(46003)
    return {"menu": call.state.menu}


@api.route("menu/delete", body=False)
def menu_delete(call: Call) -> Json:
    call.state.menu = None
    return dict(OK)
