"""The routing table: every keyword and menu click, through the real webhook."""
import time

import pytest
from sqlalchemy import select

from bot import commands, menu, survey_chat
from bot.answering import HANDED_OVER
from bot.models import AskedQuestion, HandoverReason, Question
from core.db import session_scope
from tests import live
from tests.bot.conftest import click, event, post, say
from tests.webhooks import wx
from webhooks import routing
from webhooks.protocol import parse_xml


@pytest.mark.parametrize("text", ["帮助", "你好", "菜单", "？", " 帮助 "])
def test_help_keywords(client, text):
    assert say(client, "oHelp", text) == menu.HELP


def test_survey_is_a_placeholder_until_surveys_exist(client):
    assert say(client, "oSurv", "问卷") == survey_chat.NONE_OPEN


def test_cancel_with_nothing_running(client):
    assert say(client, "oCanc", "取消") == commands.NOTHING_TO_CANCEL


@pytest.mark.parametrize("text", ["有用", "没用"])
def test_feedback_without_an_answer_to_rate(client, text):
    assert "没有可以评价" in say(client, "oFb", text)


@pytest.mark.parametrize("text", ["3", "123", "……", "👍"])
def test_a_lone_number_or_symbol_is_not_taken_as_a_question(client, text):
    assert say(client, "oNum", text) == commands.TOO_SHORT
    with session_scope() as session:
        assert session.scalars(select(Question)).all() == []


def test_every_click_key_has_a_command_and_every_menu_button_is_routed():
    keys = [b["key"] for top in menu.menu_json()["button"] for b in top["sub_button"]]
    assert set(keys) == set(commands.CLICKS)


def test_menu_respects_wechat_limits():
    buttons = menu.menu_json()["button"]
    assert 1 <= len(buttons) <= 3
    for top in buttons:
        assert len(top["name"].encode()) <= 16 and 1 <= len(top["sub_button"]) <= 5
        for sub in top["sub_button"]:
            assert len(sub["name"].encode()) <= 60 and len(sub["key"].encode()) <= 128


@pytest.mark.parametrize("key, expected", [
    ("HELP", menu.HELP),
    ("ASK", commands.ASK_HINT),
    ("SURVEY", survey_chat.NONE_OPEN),
    ("NO_SUCH_KEY", menu.HELP),
])
def test_clicks(client, key, expected):
    assert click(client, "oClick", key) == expected


@pytest.mark.parametrize("key, fragment", [
    ("BIND", "统一社会信用代码"),
    ("UNBIND", "还没有绑定企业"),
    ("SUBSCRIBE", "请回复要订阅的主题序号"),
    ("MY_SUBSCRIPTIONS", "还没有订阅"),
    ("PERSON", "请输入您要咨询的问题"),
])
def test_clicks_that_start_flows(client, key, fragment):
    assert fragment in click(client, "oClick2", key)


def test_a_click_ends_a_running_dialog(client):
    say(client, "oClick3", "绑定企业")
    click(client, "oClick3", "HELP")
    assert say(client, "oClick3", "取消") == commands.NOTHING_TO_CANCEL


def test_voice_with_recognition_is_read_as_text(client):
    r = post(client, wx.message("oVoice", kind="voice", MediaId="m", Format="amr", Recognition="问卷。"))
    assert parse_xml(r.content)["Content"] == survey_chat.NONE_OPEN


def test_voice_without_recognition_gets_help(client):
    r = post(client, wx.message("oVoice", kind="voice", MediaId="m", Format="amr"))
    assert parse_xml(r.content)["Content"] == menu.HELP


def test_routes_table_covers_messages_and_events():
    assert {"text", "voice", "event.subscribe", "event.scan", "event.unsubscribe", "event.click"} <= set(
        routing.ROUTES)


def test_person_without_a_question_asks_for_it_then_queues_it_with_the_conversation(client):
    say(client, "oPerson", "问卷")
    assert "请输入您要咨询的问题" in say(client, "oPerson", "人工")
    assert "一句话" in say(client, "oPerson", "啊")  # too short to be a question
    assert say(client, "oPerson", "我家孩子的入学补贴什么时候发？") == HANDED_OVER
    with session_scope() as session:
        question = session.scalars(select(Question)).one()
        asked = session.scalars(select(AskedQuestion)).one()
    assert question.text == "我家孩子的入学补贴什么时候发？" and question.reason is HandoverReason.asked_for_person
    assert [t["text"] for t in question.conversation][:2] == ["问卷", survey_chat.NONE_OPEN]
    assert asked.outcome.value == "asked_for_person"
    assert "已转人工" in say(client, "oPerson", "人工")  # asking again: already queued
    with session_scope() as session:
        assert len(session.scalars(select(Question)).all()) == 1


def test_person_can_be_cancelled(client):
    say(client, "oPerson2", "人工")
    assert "已取消" in say(client, "oPerson2", "取消")
    with session_scope() as session:
        assert session.scalars(select(Question)).all() == []


def test_conversation_log_is_capped(client, monkeypatch):
    from bot import memory
    from core.settings import get_settings

    monkeypatch.setenv("BOT_HISTORY_SIZE", "4")
    get_settings.cache_clear()
    for _ in range(5):
        say(client, "oLog", "问卷")
    turns = memory.recent_turns("oLog")
    assert len(turns) == 4 and [t["who"] for t in turns] == ["user", "bot"] * 2


def test_unfollow_forgets_the_running_dialog(client):
    say(client, "oGone", "人工")
    assert event(client, "oGone", "unsubscribe") == "success"
    assert say(client, "oGone", "取消") == commands.NOTHING_TO_CANCEL


def test_menu_is_published_to_wechat(app_env, monkeypatch):
    from tests.conftest import clear_caches

    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        menu.publish()
        assert state.menu == menu.menu_json()


def test_two_menu_taps_in_the_same_second_each_get_their_own_reply(client):
    same_second = int(time.time())
    taps = [post(client, wx.message("oTwoTaps01", kind="event", created=same_second, Event="CLICK", EventKey=key))
            for key in ("HELP", "SURVEY")]
    assert [parse_xml(r.content)["Content"] for r in taps] == [menu.HELP, survey_chat.NONE_OPEN]
