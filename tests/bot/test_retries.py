"""A message WeChat sends again mid-dialog applies its step once, even when the webhook's own
de-duplication no longer remembers it."""
import redis

from core.db import session_scope
from subscriptions import service as subs
from tests.bot.conftest import VALID_CODE, say
from tests.conftest import TEST_REDIS_URL

ME = "oRetry0001"


def forget_dedupe(msg_id: int) -> None:
    redis.Redis.from_url(TEST_REDIS_URL).delete(f"wx:dedupe:m:{msg_id}")


def test_the_same_msgid_twice_applies_the_step_once(client):
    with session_scope() as session:
        subs.create_enterprise(session=session, code=VALID_CODE, name="甲公司")
    say(client, ME, "绑定企业")
    say(client, ME, VALID_CODE)
    first = say(client, ME, "否", msg_id=777001)  # back to asking for the code
    forget_dedupe(777001)
    again = say(client, ME, "否", msg_id=777001)  # applied twice, "否" would be read as a wrong code
    assert first == again and "统一社会信用代码" in again
    assert "是否绑定该企业" in say(client, ME, VALID_CODE)


def test_a_retry_of_the_last_step_gets_the_same_reply_and_changes_nothing(client, topics):
    say(client, ME, "订阅")
    first = say(client, ME, "1", msg_id=777002)
    forget_dedupe(777002)
    assert say(client, ME, "1", msg_id=777002) == first
    say(client, ME, "退订全部")
    forget_dedupe(777002)
    assert say(client, ME, "1", msg_id=777002) != first  # long after, a new "1" is no longer the dialog's


def test_the_webhook_itself_answers_a_retry_with_the_first_reply(client):
    first = say(client, ME, "绑定企业", msg_id=777003)
    assert say(client, ME, "绑定企业", msg_id=777003) == first
