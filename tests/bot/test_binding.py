"""绑定企业 / 解绑 and park QR codes in the chat, every path."""
import pytest

from core.db import session_scope
from subscriptions import service as subs
from tests.bot.conftest import OTHER_CODE, VALID_CODE, event, say

ME = "oBind00001"


def bound():
    with session_scope() as session:
        follower = subs.get_by_openid(session=session, openid=ME)
        if follower is None:
            return []
        return [(e.name, e.industry_code, e.park.name if e.park else None)
                for e in subs.list_bound_enterprises(session=session, follower_id=follower.id)]


@pytest.fixture
def known(client):
    with session_scope() as session:
        subs.create_enterprise(session=session, code=VALID_CODE, name="葫芦岛某某科技有限公司", industry_code="65")


def test_bind_a_known_enterprise_after_confirming_its_name(client, known):
    assert "统一社会信用代码" in say(client, ME, "绑定企业")
    assert "葫芦岛某某科技有限公司" in say(client, ME, VALID_CODE.lower())  # typed in lower case
    assert "已绑定“葫芦岛某某科技有限公司”" in say(client, ME, "是")
    assert bound() == [("葫芦岛某某科技有限公司", "65", None)]
    say(client, ME, "绑定企业")
    assert "无需重复绑定" in say(client, ME, VALID_CODE)


def test_no_at_the_confirmation_asks_for_the_code_again(client, known):
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    assert "统一社会信用代码" in say(client, ME, "否")
    assert "是否绑定该企业" in say(client, ME, VALID_CODE)
    assert bound() == []


def test_anything_else_at_the_confirmation_is_asked_again(client, known):
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    assert "请回复“是”确认绑定" in say(client, ME, "也许")
    assert "已绑定" in say(client, ME, "确认")


@pytest.mark.parametrize("code, fragment", [
    (VALID_CODE[:17] + ("0" if VALID_CODE[17] != "0" else "1"), f"第18位应为“{VALID_CODE[17]}”"),
    ("12345", "应为18位"),
    ("91211400MA0XXXXXIU", "不使用 I、O、S、V、Z"),
])
def test_wrong_codes_are_explained_and_asked_again(client, code, fragment):
    say(client, ME, "绑定企业")
    reply = say(client, ME, code)
    assert fragment in reply and "请重新发送" in reply
    assert "系统中还没有这家企业" in say(client, ME, OTHER_CODE)


def test_a_new_enterprise_gives_name_industry_by_section_then_division_and_park(client, parks):
    say(client, ME, "绑定企业")
    assert "请发送企业名称" in say(client, ME, OTHER_CODE)
    assert "C 制造业" in say(client, ME, "新企业（葫芦岛）有限公司")
    division_list = say(client, ME, "c")
    assert "13 农副食品加工业" in division_list and "A" not in division_list.split("\n")[1]
    park_list = say(client, ME, "13")
    assert f"1. {parks[0]}" in park_list and "0" in park_list
    assert "已登记并绑定" in say(client, ME, "2")
    assert bound() == [("新企业（葫芦岛）有限公司", "13", parks[1])]


def test_a_new_enterprise_with_division_code_and_no_park(client, parks):
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司")
    say(client, ME, "C13")
    assert "已登记并绑定" in say(client, ME, "0")
    assert bound() == [("某公司", "13", None)]


def test_industry_can_be_skipped_and_parks_are_not_asked_when_there_are_none(client):
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司")
    assert "已登记并绑定" in say(client, ME, "跳过")
    assert bound() == [("某公司", None, None)]


@pytest.mark.parametrize("wrong, fragment", [("99", "不在 GB/T 4754"), ("制造", "不是国民经济行业分类代码")])
def test_wrong_industry_is_explained(client, wrong, fragment):
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司")
    assert fragment in say(client, ME, wrong)
    assert "已登记并绑定" in say(client, ME, "65")


@pytest.mark.parametrize("wrong", ["3", "园区", "-1"])
def test_wrong_park_is_asked_again(client, parks, wrong):
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司"), say(client, ME, "65")
    assert "请回复 0-2 之间的序号" in say(client, ME, wrong)
    assert "已登记并绑定" in say(client, ME, "1")


def test_too_short_a_name_is_asked_again(client):
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE)
    assert "企业全称" in say(client, ME, "某")


@pytest.mark.parametrize("answers", [
    [], [VALID_CODE], [OTHER_CODE], [OTHER_CODE, "某公司"], [OTHER_CODE, "某公司", "C"],
    [OTHER_CODE, "某公司", "65"],
])
def test_cancel_at_each_step(client, known, parks, answers):
    say(client, ME, "绑定企业")
    for text in answers:
        say(client, ME, text)
    assert "已取消“绑定企业”" in say(client, ME, "取消")
    assert bound() == []
    with session_scope() as session:
        assert subs.get_enterprise_by_credit_code(session=session, code=OTHER_CODE) is None


def test_park_scanned_from_a_qr_code_is_greeted_and_marked_in_the_park_list(client, parks):
    assert "欢迎“高新区”的朋友" in event(client, ME, "subscribe", "qrscene_park-gx")
    with session_scope() as session:
        assert subs.get_by_openid(session=session, openid=ME).qr_scene == "park-gx"
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司")
    assert "高新区（您扫码的园区）" in say(client, ME, "65")


def test_scan_by_a_follower_records_the_park(client, parks):
    event(client, ME, "subscribe")
    assert "欢迎“经开区”的朋友" in event(client, ME, "SCAN", "park-jk")
    with session_scope() as session:
        scene = subs.get_by_openid(session=session, openid=ME).qr_scene
        assert subs.get_park_by_scene(session=session, scene=scene).name == "经开区"


def test_unknown_scene_gets_the_plain_welcome(client, parks):
    reply = event(client, ME, "subscribe", "qrscene_nowhere")
    assert reply.startswith("感谢关注")


# --- 解绑 ---------------------------------------------------------------------------------------

def _bind_two(client):
    with session_scope() as session:
        follower = subs.follow(session=session, openid=ME)
        for code, name in ((VALID_CODE, "甲公司"), (OTHER_CODE, "乙公司")):
            e = subs.create_enterprise(session=session, code=code, name=name)
            subs.bind_enterprise(session=session, follower_id=follower.id, enterprise_id=e.id)


def test_unbind_with_nothing_bound(client):
    assert "还没有绑定企业" in say(client, ME, "解绑")


def test_unbind_one_by_number(client):
    _bind_two(client)
    listing = say(client, ME, "解绑")
    assert "1. 甲公司" in listing and "2. 乙公司" in listing
    assert say(client, ME, "2") == "已解绑：乙公司。"
    assert [b[0] for b in bound()] == ["甲公司"]


def test_unbind_all(client):
    _bind_two(client)
    say(client, ME, "解绑")
    assert say(client, ME, "全部") == "已解绑：甲公司、乙公司。"
    assert bound() == []


@pytest.mark.parametrize("wrong", ["3", "0", "甲"])
def test_unbind_wrong_input_then_cancel(client, wrong):
    _bind_two(client)
    say(client, ME, "解绑")
    assert "请回复 1-2 之间的序号" in say(client, ME, wrong)
    assert "已取消" in say(client, ME, "取消")
    assert len(bound()) == 2


def test_a_name_with_control_characters_is_asked_again(client):
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    reply = say(client, ME, "葫芦岛\x85某某有限公司")  # C1: XML carries it, C0 would not parse
    assert "控制字符" in reply and "请重新发送企业全称" in reply
    assert "所属行业" in say(client, ME, "葫芦岛某某有限公司")


def test_binding_while_paused_says_that_nothing_will_be_pushed(client, known):
    say(client, ME, "暂停推送")
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    reply = say(client, ME, "是")
    assert "已绑定" in reply and "暂停接收全部推送" in reply and "恢复推送" in reply
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "某公司")
    reply = say(client, ME, "跳过")
    assert "已登记并绑定" in reply and "恢复推送" in reply
    say(client, ME, "恢复推送")
    say(client, ME, "解绑"), say(client, ME, "全部")
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    assert "今后与贵企业相关的政策会推送给您" in say(client, ME, "是")
