"""订阅 / 我的订阅 / 退订 in the chat."""
import pytest

from core.db import session_scope
from subscriptions import service as subs
from tests.bot.conftest import event, say

ME = "oTopic0001"


def mine():
    with session_scope() as session:
        follower = subs.get_by_openid(session=session, openid=ME)
        return [t.name for t in subs.list_subscriptions(session=session, follower_id=follower.id)], follower.muted


def test_subscribe_lists_numbered_topics_and_takes_several_numbers(client, topics):
    listing = say(client, ME, "订阅")
    assert f"1. {topics[0]}" in listing and f"{len(topics)}. {topics[-1]}" in listing
    assert say(client, ME, "1 3，5") == f"已订阅：{topics[0]}、{topics[2]}、{topics[4]}。回复“我的订阅”查看全部。"
    assert mine() == ([topics[0], topics[2], topics[4]], False)
    assert f"1. {topics[0]}（已订阅）" in say(client, ME, "订阅")


@pytest.mark.parametrize("wrong, fragment", [("abc", "请回复主题序号"), ("1 99", "没有序号 99"), ("0", "没有序号 0")])
def test_wrong_input_is_explained_and_the_dialog_goes_on(client, topics, wrong, fragment):
    say(client, ME, "订阅")
    assert fragment in say(client, ME, wrong)
    assert "已订阅" in say(client, ME, "2")


def test_subscribe_can_be_cancelled(client, topics):
    say(client, ME, "订阅")
    assert "已取消“订阅”" in say(client, ME, "取消")
    assert mine() == ([], False)


def test_no_topics_to_subscribe(client):
    with session_scope() as session:  # staff deactivated every topic loaded at start
        for topic in subs.list_topics(session=session):
            topic.active = False
    assert "暂无可订阅" in say(client, ME, "订阅")


def test_my_subscriptions_uses_the_same_numbers(client, topics):
    assert "还没有订阅" in say(client, ME, "我的订阅")
    say(client, ME, "订阅"), say(client, ME, "2 4")
    listing = say(client, ME, "我的订阅")
    assert f"2. {topics[1]}" in listing and f"4. {topics[3]}" in listing and "1." not in listing


def test_unsubscribe_one_by_number(client, topics):
    say(client, ME, "订阅"), say(client, ME, "2 4")
    assert say(client, ME, "退订 2") == f"已退订：{topics[1]}。"
    assert mine() == ([topics[3]], False)
    assert "您没有订阅" in say(client, ME, "退订2")


@pytest.mark.parametrize("text, fragment", [("退订 99", "没有序号 99"), ("退订 abc", "退订 序号")])
def test_unsubscribe_wrong_input(client, topics, text, fragment):
    assert fragment in say(client, ME, text)


def test_unsubscribe_all_drops_the_topics_only_and_says_what_still_comes(client, topics):
    say(client, ME, "订阅"), say(client, ME, "1 2")
    reply = say(client, ME, "退订 全部")
    assert "已退订全部主题" in reply and "暂停推送" in reply
    assert mine() == ([], False)
    assert "没有订阅政策主题" in say(client, ME, "退订全部")  # nothing to unsubscribe, and nothing muted
    assert mine() == ([], False)


def test_pause_and_resume_every_push_keep_the_topics(client, topics):
    say(client, ME, "订阅"), say(client, ME, "1")
    assert "已暂停全部推送" in say(client, ME, "暂停推送")
    assert mine() == ([topics[0]], True)
    assert "无需重复" in say(client, ME, "暂停推送")
    listing = say(client, ME, "我的订阅")
    assert f"1. {topics[0]}" in listing and "推送：已暂停" in listing and "恢复推送" in listing
    say(client, ME, "订阅")
    assert "恢复推送" in say(client, ME, "2")  # subscribing says so
    assert mine() == ([topics[0], topics[1]], True)  # and does not resume by itself
    assert say(client, ME, "恢复推送").startswith("已恢复推送")
    assert mine() == ([topics[0], topics[1]], False)
    assert "推送：接收中" in say(client, ME, "我的订阅")
    assert "无需恢复" in say(client, ME, "恢复推送")


def test_my_subscriptions_shows_the_pause_without_any_topic(client, topics):
    say(client, ME, "暂停推送")
    listing = say(client, ME, "我的订阅")
    assert "还没有订阅" in listing and "推送：已暂停" in listing


def test_help_names_pause_and_resume(client):
    help_text = say(client, ME, "帮助")
    assert "暂停推送" in help_text and "恢复推送" in help_text


def test_unfollowing_stops_pushes_and_following_again_restores_subscriptions(client, topics):
    say(client, ME, "订阅"), say(client, ME, "1")
    event(client, ME, "unsubscribe")
    with session_scope() as session:
        assert subs.get_by_openid(session=session, openid=ME).state.value == "unfollowed"
    event(client, ME, "subscribe")
    with session_scope() as session:
        assert subs.get_by_openid(session=session, openid=ME).state.value == "following"
    assert mine() == ([topics[0]], False)
