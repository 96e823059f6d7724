"""Verifying a binding in the chat: the contact phone's last 4 digits, throttled; what verified means."""
from core.db import session_scope
from subscriptions import service as subs
from subscriptions.models import Enterprise, EnterpriseBinding
from subscriptions.schemas import EnterpriseUpdate
from tests.bot.conftest import OTHER_CODE, VALID_CODE, say

ME, OTHER = "oVerify0001", "oVerify0002"


def binding(openid: str = ME, code: str = VALID_CODE) -> EnterpriseBinding:
    with session_scope() as session:
        follower = subs.get_by_openid(session=session, openid=openid)
        enterprise = subs.get_enterprise_by_credit_code(session=session, code=code)
        return session.get(EnterpriseBinding, (follower.id, enterprise.id))


def on_record(phone: str | None) -> None:
    with session_scope() as session:
        e = subs.create_enterprise(session=session, code=VALID_CODE, name="某某科技有限公司", industry_code="65")
        if phone:
            subs.update_enterprise(session=session, enterprise=e, enterprise_in=EnterpriseUpdate(contact_phone=phone))


def test_binding_asks_for_the_contact_phones_last_digits_and_says_what_verified_means(client):
    on_record("0429-3123456")
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    reply = say(client, ME, "是")
    assert "已绑定“某某科技有限公司”" in reply and "待核验" in reply and "已核验”表示" in reply
    assert "联系电话后4位" in reply
    assert binding().verified_at is None
    assert "还可再试 4 次" in say(client, ME, "1234")
    assert say(client, ME, "３４５６") == "核验通过，绑定已核验。"  # full-width digits as typed on some phones
    assert (binding().verified_by, binding().verified_at is not None) == ("contact", True)
    assert say(client, ME, "核验企业") == "您绑定的企业都已核验。"


def test_wrong_answers_are_throttled_for_the_follower_and_the_right_one_then_waits(client):
    on_record("13912345678")
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE), say(client, ME, "是")
    replies = [say(client, ME, "0000") for _ in range(4)]
    assert "还可再试 1 次" in replies[-1]
    assert "次数已用完" in say(client, ME, "0001")
    assert "核验“某某科技有限公司”" in say(client, ME, "核验企业")
    assert "次数已用完" in say(client, ME, "5678")  # even the right digits wait for tomorrow
    assert binding().verified_at is None


def test_wrong_answers_are_throttled_for_the_enterprise_across_followers(client):
    on_record("13912345678")
    for openid in (ME, OTHER):
        say(client, openid, "绑定企业"), say(client, openid, VALID_CODE), say(client, openid, "是")
        for _ in range(5):
            say(client, openid, "0000")
    third = "oVerify0003"
    say(client, third, "绑定企业"), say(client, third, VALID_CODE), say(client, third, "是")
    assert "次数已用完" in say(client, third, "5678")
    assert binding(third).verified_at is None


def test_without_a_contact_phone_staff_verify_and_a_self_registered_enterprise_is_unverified(client):
    on_record(None)
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE)
    reply = say(client, ME, "是")
    assert "待核验" in reply and "工作人员确认后即为已核验" in reply and "后4位" not in reply
    say(client, ME, "绑定企业"), say(client, ME, OTHER_CODE), say(client, ME, "新登记有限公司")
    assert "工作人员确认后即为已核验" in say(client, ME, "跳过")
    with session_scope() as session:
        assert subs.get_enterprise_by_credit_code(session=session, code=OTHER_CODE).verified_at is None
        assert subs.get_enterprise_by_credit_code(session=session, code=VALID_CODE).verified_at is not None
    assert "没有登记联系电话" in say(client, ME, "核验企业")


def test_skipping_the_check_and_coming_back_to_it(client):
    on_record("13912345678")
    say(client, ME, "绑定企业"), say(client, ME, VALID_CODE), say(client, ME, "是")
    assert "由工作人员核验" in say(client, ME, "跳过")
    assert "核验“某某科技有限公司”" in say(client, ME, "核验企业")
    assert "核验通过" in say(client, ME, "5678")
    assert "核验企业" in say(client, ME, "帮助")
    with session_scope() as session:
        assert session.query(Enterprise).count() == 1
