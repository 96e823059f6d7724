"""The dialog engine on its own: steps, cancel, expiry, re-sent messages, passing a text on."""
import time

import pytest

from bot import dialogs
from core.settings import get_settings


def _name(state, text):
    if not text.isalpha():
        return dialogs.Turn("名字只能是文字，请重新输入。", "name")
    state.data["name"] = text
    state.data["count"] = state.data.get("count", 0) + 1
    return dialogs.Turn(f"你好，{text}。几岁？", "age")


def _age(state, text):
    if not text.isdigit():
        return dialogs.PASS
    return dialogs.Turn(f"{state.data['name']}，{text}岁，记下了。")


GREET = dialogs.register(dialogs.Dialog("test-greet", "问候", {"name": _name, "age": _age}))


@pytest.fixture
def started(app_env):
    dialogs.begin("oDlg", GREET, step="name", reply="你叫什么？")
    return "oDlg"


def test_steps_run_in_order_and_the_last_ends_the_dialog(started):
    assert dialogs.take(started, "小明", "m1").reply == "你好，小明。几岁？"
    assert dialogs.take(started, "7", "m2").reply == "小明，7岁，记下了。"
    assert dialogs.take(started, "8", "m3") == dialogs.Outcome(None)


def test_wrong_input_stays_on_the_step(started):
    assert "只能是文字" in dialogs.take(started, "123", "m1").reply
    assert dialogs.load(started).step == "name"


def test_the_same_message_again_is_not_applied_twice(started):
    first = dialogs.take(started, "小明", "m1")
    again = dialogs.take(started, "小明", "m1")
    assert again == first and dialogs.load(started).data["count"] == 1 and dialogs.load(started).step == "age"


def test_the_last_message_again_after_the_end_gets_the_same_reply(started):
    dialogs.take(started, "小明", "m1")
    last = dialogs.take(started, "7", "m2")
    assert dialogs.take(started, "7", "m2") == last


@pytest.mark.parametrize("steps_before", [0, 1])
def test_cancel_at_each_step(started, steps_before):
    if steps_before:
        dialogs.take(started, "小明", "m1")
    assert "已取消“问候”" in dialogs.take(started, "取消", "m9").reply
    assert dialogs.take(started, "小红", "m10") == dialogs.Outcome(None)


def test_a_step_can_pass_the_text_on(started):
    dialogs.take(started, "小明", "m1")
    assert dialogs.take(started, "天气怎么样", "m2") == dialogs.Outcome(None)
    assert dialogs.load(started) is None


def test_an_unanswered_dialog_expires_and_says_so_once(started, monkeypatch):
    monkeypatch.setenv("BOT_DIALOG_TTL", "1")
    get_settings.cache_clear()
    dialogs.begin("oDlg", GREET, step="name", reply="你叫什么？")
    time.sleep(1.2)
    assert dialogs.take(started, "小明", "m1") == dialogs.Outcome(None, expired="问候")
    assert dialogs.take(started, "小明", "m2") == dialogs.Outcome(None)


def test_each_reply_gives_the_dialog_its_full_time_again(started, monkeypatch):
    monkeypatch.setenv("BOT_DIALOG_TTL", "1")
    get_settings.cache_clear()
    dialogs.begin("oDlg", GREET, step="name", reply="你叫什么？")
    time.sleep(0.7)
    dialogs.take(started, "小明", "m1")
    time.sleep(0.7)
    assert "7岁" in dialogs.take(started, "7", "m2").reply
