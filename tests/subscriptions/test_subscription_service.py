import pytest
from sqlalchemy.exc import IntegrityError

from core.db import utcnow
from core.masking import mask_credit_code, mask_name, mask_phone
from subscriptions import service
from subscriptions.credit_code import InvalidCreditCode
from subscriptions.models import Follower
from subscriptions.schemas import SegmentCreate, SegmentFilter, SegmentUpdate, TopicCreate
from subscriptions.segments import SegmentFilterError
from tests.subscriptions.enterprise_files import code


def test_webhook_functions_keep_working_with_preferences(session):
    f = service.follow(session=session, openid="o1", qr_scene="park-gx")
    assert (f.muted, f.muted_until, f.qr_scene) == (False, None, "park-gx")
    service.touch(session=session, last_seen={"o1": utcnow(), "o2": utcnow()})
    assert service.get_by_openid(session=session, openid="o2").muted is False
    assert service.unfollow(session=session, openid="o1").unfollowed_at is not None


def test_topics_subscribe_and_unsubscribe(seeded):
    s = seeded
    f = service.follow(session=s, openid="o1")
    topics = service.list_topics(session=s)
    assert service.subscribe(session=s, follower_id=f.id, topic_ids=[topics[0].id, topics[2].id]) == [
        topics[0].id, topics[2].id]
    assert service.subscribe(session=s, follower_id=f.id, topic_ids=[topics[2].id, topics[4].id]) == [topics[4].id]
    assert [t.name for t in service.list_subscriptions(session=s, follower_id=f.id)] == [
        topics[0].name, topics[2].name, topics[4].name]
    assert service.unsubscribe(session=s, follower_id=f.id, topic_ids=[topics[2].id]) == 1
    assert [t.name for t in s.get(Follower, f.id).topics] == [topics[0].name, topics[4].name]
    assert service.unsubscribe(session=s, follower_id=f.id) == 2
    assert service.list_subscriptions(session=s, follower_id=f.id) == []
    new = service.create_topic(session=s, topic_in=TopicCreate(name="新topic"))
    assert new.sort_order == max(t.sort_order for t in topics) + 1


def test_bind_several_enterprises(seeded):
    s = seeded
    f = service.follow(session=s, openid="o1")
    park = service.get_park_by_scene(session=s, scene="park-gx")
    assert park is not None and park.name == "高新区"
    a = service.create_enterprise(session=s, code=code(1).lower(), name=" 甲 ", industry_code="C3911",
                                  park_id=park.id, size="小型")
    b = service.create_enterprise(session=s, code=code(2), name="乙")
    assert (a.credit_code, a.name, a.industry_code, a.size) == (code(1), "甲", "39", "小")
    with pytest.raises(InvalidCreditCode):
        service.create_enterprise(session=s, code=code(3)[:17] + "I", name="丙")
    assert service.get_enterprise_by_credit_code(session=s, code=" " + code(2)) is b
    assert service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=a.id)
    assert not service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=a.id)
    assert service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=b.id)
    assert [e.name for e in service.list_bound_enterprises(session=s, follower_id=f.id)] == ["甲", "乙"]
    assert service.unbind_enterprise(session=s, follower_id=f.id, enterprise_id=a.id) == 1
    assert [e.name for e in s.get(Follower, f.id).enterprises] == ["乙"]
    assert service.unbind_enterprise(session=s, follower_id=f.id) == 1


def test_saved_segments(seeded):
    s = seeded
    park = service.get_park_by_scene(session=s, scene="park-gx")
    seg = service.create_segment(session=s, segment_in=SegmentCreate(
        name="高新区制造业", filter=SegmentFilter(industries=["c"], parks=[park.id])))
    assert seg.filter == {"industries": ["C"], "parks": [park.id]}
    assert [x.name for x in service.list_segments(session=s)] == ["高新区制造业"]
    service.update_segment(session=s, segment=seg, segment_in=SegmentUpdate(
        filter=SegmentFilter(sizes=["小"], exclude={"industries": ["I"]})))
    assert seg.filter == {"sizes": ["小"], "exclude": {"industries": ["I"]}}
    with pytest.raises(SegmentFilterError):
        service.create_segment(session=s, segment_in=SegmentCreate(name="x", filter=SegmentFilter(parks=[999])))
    service.delete_segment(session=s, segment=seg)
    assert service.get_segment(session=s, segment_id=seg.id) is None


def test_segment_names_are_unique(seeded):
    service.create_segment(session=seeded, segment_in=SegmentCreate(name="全部", filter=SegmentFilter()))
    with pytest.raises(IntegrityError):
        service.create_segment(session=seeded, segment_in=SegmentCreate(name="全部", filter=SegmentFilter()))


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("3123456") == "*****56"
    assert mask_name("张三丰") == "张**" and mask_name("李") == "李*"
    assert mask_credit_code("91440300708461136T") == "914403**********6T"
