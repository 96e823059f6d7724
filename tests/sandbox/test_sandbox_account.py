"""Tags, follower lists, QR codes and the menu."""
from __future__ import annotations

import pytest


def create_tag(sb, name):
    return sb.api("tags/create", {"tag": {"name": name}})


def test_tag_lifecycle(sb):
    tag = create_tag(sb, "制造业")["tag"]
    assert tag["id"] >= 100 and tag["name"] == "制造业"
    assert sb.api("tags/members/batchtagging", {"openid_list": ["oUserT0000001"], "tagid": tag["id"]})["errcode"] == 0
    tags = {t["id"]: t for t in sb.api("tags/get")["tags"]}
    assert tags[2]["name"] == "星标组" and tags[tag["id"]]["count"] == 1
    assert sb.api("tags/getidlist", {"openid": "oUserT0000001"}) == {"tagid_list": [tag["id"]]}
    assert sb.api("tags/update", {"tag": {"id": tag["id"], "name": "C 制造业"}})["errcode"] == 0
    assert sb.api("tags/update", {"tag": {"id": tag["id"], "name": "C 制造业"}})["errcode"] == 0  # same name, same tag
    assert sb.api("tags/members/batchuntagging", {"openid_list": ["oUserT0000001"], "tagid": tag["id"]})["errcode"] == 0
    assert sb.api("tags/getidlist", {"openid": "oUserT0000001"}) == {"tagid_list": []}
    sb.api("tags/members/batchtagging", {"openid_list": ["oUserT0000001"], "tagid": tag["id"]})
    assert sb.api("tags/delete", {"tag": {"id": tag["id"]}})["errcode"] == 0
    assert sb.api("tags/getidlist", {"openid": "oUserT0000001"}) == {"tagid_list": []}
    assert sb.api("tags/delete", {"tag": {"id": tag["id"]}})["errcode"] == 45159


def test_tag_name_rules(sb):
    create_tag(sb, "园区")
    assert create_tag(sb, "园区")["errcode"] == 45157
    assert create_tag(sb, "")["errcode"] == 45157
    assert create_tag(sb, "一二三四五六七八九十一")["errcode"] == 45158  # 33 bytes
    assert create_tag(sb, "一二三四五六七八九十")["tag"]["name"]  # 30 bytes is fine
    other = create_tag(sb, "协会")["tag"]["id"]
    assert sb.api("tags/update", {"tag": {"id": other, "name": "园区"}})["errcode"] == 45157
    assert sb.api("tags/update", {"tag": {"id": 2, "name": "x"}})["errcode"] == 45058
    assert sb.api("tags/delete", {"tag": {"id": 2}})["errcode"] == 45058
    assert sb.api("tags/update", {"tag": {"id": 12345, "name": "x"}})["errcode"] == 45159


def test_at_most_100_tags(sb):
    for i in range(100):
        assert "tag" in create_tag(sb, f"tag{i}")
    assert create_tag(sb, "one too many")["errcode"] == 45056


def test_batch_tagging_limits(sb):
    tag = create_tag(sb, "t")["tag"]["id"]
    many = [f"oUser{i:08d}" for i in range(51)]
    assert sb.api("tags/members/batchtagging", {"openid_list": many, "tagid": tag})["errcode"] == 40032
    assert sb.api("tags/members/batchtagging", {"openid_list": [], "tagid": tag})["errcode"] == 40032
    assert sb.api("tags/members/batchtagging", {"openid_list": many[:50], "tagid": tag})["errcode"] == 0
    assert sb.api("tags/members/batchtagging", {"openid_list": ["x"], "tagid": tag})["errcode"] == 40003
    assert sb.api("tags/members/batchtagging", {"openid_list": many[:1], "tagid": 999})["errcode"] == 45159
    assert sb.api("tags/members/batchuntagging", {"openid_list": many[:1], "tagid": "abc"})["errcode"] == 45159
    assert sb.api("tags/getidlist", {"openid": "bad"})["errcode"] == 40003


def test_twenty_tags_per_user(sb):
    ids = [create_tag(sb, f"t{i}")["tag"]["id"] for i in range(21)]
    for tag in ids[:20]:
        assert sb.api("tags/members/batchtagging", {"openid_list": ["oUserT0000001"], "tagid": tag})["errcode"] == 0
    both = {"openid_list": ["oUserT0000002", "oUserT0000001"], "tagid": ids[20]}
    assert sb.api("tags/members/batchtagging", both)["errcode"] == 45059
    assert sb.api("tags/getidlist", {"openid": "oUserT0000002"}) == {"tagid_list": []}  # all or nothing
    assert sb.api("tags/members/batchtagging", {**both, "tagid": ids[0]})["errcode"] == 0  # already has it


def test_tag_users_paging(sb, monkeypatch):
    monkeypatch.setattr("sandbox.account.PAGE", 2)
    tag = create_tag(sb, "t")["tag"]["id"]
    openids = [f"oUser{i:08d}" for i in range(3)]
    sb.api("tags/members/batchtagging", {"openid_list": openids, "tagid": tag})
    first = sb.api("user/tag/get", {"tagid": tag})
    assert first == {"count": 2, "data": {"openid": openids[:2]}, "next_openid": openids[1]}
    second = sb.api("user/tag/get", {"tagid": tag, "next_openid": first["next_openid"]})
    assert second["data"]["openid"] == openids[2:]
    assert sb.api("user/tag/get", {"tagid": 999})["errcode"] == 45159


def test_user_info_and_list(sb, monkeypatch):
    demo = "oPolicyDemoEnterprise01"
    info = sb.api("user/info", openid=demo)
    assert info["subscribe"] == 1 and info["openid"] == demo and info["tagid_list"] == []
    assert {"nickname", "subscribe_time", "qr_scene_str", "subscribe_scene"} <= set(info)
    assert sb.api("user/info", openid="bad")["errcode"] == 40003
    sb.knobs(unfollowed=[demo])
    assert sb.api("user/info", openid=demo) == {"subscribe": 0, "openid": demo, "tagid_list": []}
    sb.knobs(unfollowed=[])
    monkeypatch.setattr("sandbox.account.PAGE", 1)
    page = sb.api("user/get")
    assert page == {"total": 2, "count": 1, "data": {"openid": [demo]}, "next_openid": demo}
    page = sb.api("user/get", next_openid=demo)
    assert page["data"]["openid"] == ["oPolicyDemoCitizen0002"]
    assert sb.api("user/get", next_openid=page["next_openid"]) == {"total": 2, "count": 0, "next_openid": ""}


@pytest.mark.parametrize("body, expires", [
    ({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "park_gaoxin"}}}, None),
    ({"action_name": "QR_STR_SCENE", "expire_seconds": 600, "action_info": {"scene": {"scene_str": "s"}}}, 600),
    ({"action_name": "QR_SCENE", "expire_seconds": 9_999_999, "action_info": {"scene": {"scene_id": 7}}}, 2_592_000),
    ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_000}}}, None),
])
def test_qrcode_create_and_show(sb, body, expires):
    answer = sb.api("qrcode/create", body)
    assert answer["ticket"] and answer["url"].startswith("http://weixin.qq.com/q/")
    assert answer.get("expire_seconds") == expires
    image = sb.client.get("/cgi-bin/showqrcode", params={"ticket": answer["ticket"]})
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
    scene = body["action_info"]["scene"]
    assert str(scene.get("scene_str", scene.get("scene_id"))) in image.text


@pytest.mark.parametrize("body", [
    {"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_str": "x"}}},
    {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}},
    {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}},
    {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}},
    {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": "seven"}}},
    {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}},
    {"action_name": "QR_SCENE", "expire_seconds": "long", "action_info": {"scene": {"scene_id": 1}}},
])
def test_qrcode_rejects(sb, body):
    assert sb.api("qrcode/create", body)["errcode"] == 40053


def test_malformed_objects_are_data_format_errors(sb):
    assert sb.api("qrcode/create", {"action_name": "QR_SCENE", "action_info": "x"})["errcode"] == 47001
    assert sb.api("tags/create", {"tag": "园区"})["errcode"] == 47001


def test_showqrcode_unknown_ticket(sb):
    assert sb.client.get("/cgi-bin/showqrcode", params={"ticket": "nope"}).status_code == 404


MENU = {"button": [
    {"type": "click", "name": "政策查询", "key": "POLICY_SEARCH"},
    {"name": "企业服务", "sub_button": [
        {"type": "view", "name": "政策库", "url": "https://example.gov.cn/policies"},
        {"type": "click", "name": "绑定企业", "key": "BIND"}]},
]}


def test_menu_lifecycle(sb):
    assert sb.api("menu/get")["errcode"] == 46003
    assert sb.api("menu/create", MENU)["errcode"] == 0
    assert sb.api("menu/get") == {"menu": MENU}
    assert sb.api("menu/delete")["errcode"] == 0
    assert sb.api("menu/get")["errcode"] == 46003


@pytest.mark.parametrize("buttons, errcode", [
    ([], 40016),
    ([{"type": "click", "name": f"b{i}", "key": "k"} for i in range(4)], 40016),
    ([{"name": "m", "sub_button": [{"type": "click", "name": "s", "key": "k"}] * 6}], 40016),
    ([{"type": "teleport", "name": "x", "key": "k"}], 40017),
    ([{"type": "view", "name": "x"}], 40017),
    ([{"type": "click", "key": "k"}], 40017),
    ([{"type": "click", "name": "一二三四五六", "key": "k"}], 40018),
    ([{"type": "click", "name": "x"}], 40019),
    ([{"type": "click", "name": "x", "key": "k" * 129}], 40019),
])
def test_menu_rejects(sb, buttons, errcode):
    assert sb.api("menu/create", {"button": buttons})["errcode"] == errcode
