"""What the chat's 退订全部, 暂停推送 and 恢复推送 do to who a push reaches."""
from core.db import session_scope
from subscriptions import segments
from subscriptions import service as subs
from tests.bot.conftest import VALID_CODE, say

ME = "oPause00001"


def reached(filter: dict) -> int:
    with session_scope() as session:
        return segments.preview(session=session, filter=filter).followers


def test_unsubscribing_all_topics_keeps_the_enterprise_pushes_and_pausing_stops_every_push(client, topics):
    with session_scope() as session:
        enterprise = subs.create_enterprise(session=session, code=VALID_CODE, name="某某科技有限公司",
                                            industry_code="65")
        topic_id = subs.list_topics(session=session)[0].id
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE), say(client, ME, "是")
    say(client, ME, "订阅"), say(client, ME, "1")
    by_industry, by_topic = {"industries": ["I"]}, {"topics": [topic_id]}
    assert (reached(by_industry), reached(by_topic)) == (1, 1)

    say(client, ME, "退订全部")
    assert (reached(by_industry), reached(by_topic)) == (1, 0)  # their own company's pushes still come

    say(client, ME, "订阅"), say(client, ME, "1")
    say(client, ME, "暂停推送")
    assert (reached(by_industry), reached(by_topic), reached({})) == (0, 0, 0)
    with session_scope() as session:
        recipients = list(segments.iter_recipients(session=session, filter=by_industry))
    assert recipients == []

    say(client, ME, "恢复推送")
    assert (reached(by_industry), reached(by_topic)) == (1, 1)
    assert enterprise.id
