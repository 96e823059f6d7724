from datetime import date

import pytest
from sqlalchemy import select

from policies import service
from policies.models import PARTS, Policy, PolicyRevision, PolicyStatus
from policies.schemas import InterpretationUpdate, PolicyCreate, PolicyUpdate
from staff import service as staff
from tests.policies.conftest import FULL, make_policy

D = date


def revisions(session, policy):
    return session.scalars(select(PolicyRevision).where(PolicyRevision.policy_id == policy.id)
                           .order_by(PolicyRevision.id)).all()


def test_create_records_who_and_what(session):
    user = staff.create_user(session=session, username="ed", password="x" * 12, role="editor")
    policy = service.create_policy(session=session, actor_id=user.id, on=D(2024, 8, 1), policy_in=PolicyCreate(
        title="稳岗返还", doc_number=" 葫人社发〔2024〕1号 ", issuer="市人社局", issued_on=D(2024, 7, 1),
        industries=["c", "39"]))
    assert (policy.status, policy.doc_number, policy.industries) == (PolicyStatus.in_force, "葫人社发〔2024〕1号",
                                                                     ["C", "39"])
    [rev] = revisions(session, policy)
    assert (rev.action, rev.actor_id, rev.via) == ("policy.create", user.id, "api")
    assert rev.changes["title"] == [None, "稳岗返还"] and rev.changes["issued_on"] == [None, "2024-07-01"]


def test_completeness_names_the_missing_parts_in_order(session):
    policy = make_policy(session, interpretation=None)
    assert policy.completeness == {"complete": False, "missing": list(PARTS.values())}
    service.set_interpretation(session=session, policy=policy, interpretation_in=InterpretationUpdate(
        background="背景", main_content="内容", keywords="  ", changes="差异"))
    assert policy.missing_parts() == ["目标任务", "关键词", "涉及范围", "执行标准", "惠民利企举措"]
    service.set_interpretation(session=session, policy=policy, interpretation_in=InterpretationUpdate(**FULL))
    assert policy.completeness == {"complete": True, "missing": []}


def test_interpretation_changes_are_revisions_and_no_op_records_nothing(session):
    policy = make_policy(session)
    before = len(revisions(session, policy))
    changes = service.set_interpretation(session=session, policy=policy, interpretation_in=InterpretationUpdate(
        goals="新目标", image_url="https://example.gov.cn/tujie.png"))
    assert changes == {"goals": ["目标", "新目标"], "image_url": [None, "https://example.gov.cn/tujie.png"]}
    assert service.set_interpretation(session=session, policy=policy,
                                      interpretation_in=InterpretationUpdate(goals="新目标")) == {}
    rows = revisions(session, policy)
    assert len(rows) == before + 1 and rows[-1].action == "interpretation.update"


def test_update_records_old_and_new_and_history_is_newest_first(session):
    policy = make_policy(session)
    changes = service.update_policy(session=session, policy=policy, policy_in=PolicyUpdate(title="新标题"),
                                    actor_id=None, on=D(2024, 8, 1))
    assert changes == {"title": ["稳岗返还政策", "新标题"]}
    assert service.update_policy(session=session, policy=policy, policy_in=PolicyUpdate(title="新标题"),
                                 on=D(2024, 8, 1)) == {}
    history = service.history(session=session, policy_id=policy.id)
    assert [r.action for r in history] == ["policy.update", "interpretation.update", "policy.create"]


@pytest.mark.parametrize("issued, effective, expires, on, expected", [
    (D(2024, 7, 1), None, None, D(2024, 7, 1), PolicyStatus.in_force),
    (D(2024, 7, 1), None, None, D(2024, 6, 30), PolicyStatus.pending),
    (D(2024, 7, 1), D(2024, 9, 1), None, D(2024, 8, 31), PolicyStatus.pending),
    (D(2024, 7, 1), D(2024, 9, 1), D(2025, 8, 31), D(2025, 8, 31), PolicyStatus.in_force),  # last day in force
    (D(2024, 7, 1), D(2024, 9, 1), D(2025, 8, 31), D(2025, 9, 1), PolicyStatus.expired),
    (None, None, None, D(2000, 1, 1), PolicyStatus.in_force),
])
def test_dated_status(issued, effective, expires, on, expected):
    assert service.dated_status(issued_on=issued, effective_on=effective, expires_on=expires, on=on) is expected


def test_refresh_moves_statuses_by_date_and_leaves_revised_and_repealed(session):
    pending = make_policy(session, doc_number="A1", issued_on=D(2024, 7, 1), effective_on=D(2024, 9, 1))
    ending = make_policy(session, doc_number="A2", issued_on=D(2024, 1, 1), expires_on=D(2024, 12, 31))
    repealed = make_policy(session, doc_number="A3", issued_on=D(2020, 1, 1), expires_on=D(2021, 1, 1),
                           status=PolicyStatus.repealed)
    assert (pending.status, ending.status, repealed.status) == (
        PolicyStatus.pending, PolicyStatus.in_force, PolicyStatus.repealed)
    assert service.refresh_statuses(session=session, on=D(2024, 8, 31)) == []
    moved = service.refresh_statuses(session=session, on=D(2024, 9, 1))
    assert [(p.doc_number, old, new) for p, old, new in moved] == [("A1", PolicyStatus.pending, PolicyStatus.in_force)]
    moved = service.refresh_statuses(session=session, on=D(2025, 1, 1))
    assert [(p.doc_number, new) for p, _old, new in moved] == [("A2", PolicyStatus.expired)]
    assert repealed.status is PolicyStatus.repealed
    last = service.history(session=session, policy_id=ending.id)[0]
    assert (last.action, last.via, last.actor_id, last.changes) == (
        "status", "schedule", None, {"status": ["in_force", "expired"]})
    assert service.status_note(ending) == "该政策已于2024年12月31日到期失效"
    assert service.status_note(pending) == ""
    # staff extend the expiry: the policy is in force again at once
    service.update_policy(session=session, policy=ending, policy_in=PolicyUpdate(expires_on=D(2025, 12, 31)),
                          on=D(2025, 1, 2))
    assert ending.status is PolicyStatus.in_force


def test_pending_note_names_the_start(session):
    policy = make_policy(session, issued_on=D(2024, 7, 1), effective_on=D(2024, 9, 1), on=D(2024, 7, 2))
    assert service.status_note(policy) == "该政策自2024年9月1日起施行，目前尚未生效"


def test_revised_points_to_its_successor(session):
    old = make_policy(session, title="旧办法", doc_number="B1")
    new = make_policy(session, title="新办法", doc_number="B2")
    service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(superseded_by_id=new.id))
    assert (old.status, old.superseded_by) == (PolicyStatus.revised, new)
    assert service.status_note(old) == "该政策已被《新办法》（B2）修订"
    # a revised policy stays revised when the dates change
    service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(expires_on=D(2030, 1, 1)))
    service.refresh_statuses(session=session, on=D(2031, 1, 1))
    assert old.status is PolicyStatus.revised
    # reinstating clears the link
    service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(status=PolicyStatus.in_force),
                          on=D(2029, 1, 1))
    assert (old.status, old.superseded_by_id) == (PolicyStatus.in_force, None)
    assert service.history(session=session, policy_id=old.id)[0].changes["status"] == ["revised", "in_force"]


@pytest.mark.parametrize("update, message", [
    ({"status": PolicyStatus.revised}, "须指明修订后的政策"),
    ({"superseded_by_id": 999_999}, "不存在"),
    ({"superseded_by_id": "self"}, "成环"),
    ({"superseded_by_id": "other", "status": PolicyStatus.repealed}, "只用于“已修订”"),
    ({"doc_number": "C2"}, "已被政策"),
    ({"effective_on": D(2024, 9, 1), "expires_on": D(2024, 8, 1)}, "失效日期早于施行日期"),
    ({"topics": ["没有这个主题"]}, "主题“没有这个主题”不存在"),
])
def test_inconsistent_changes_are_refused(session, update, message):
    policy = make_policy(session, doc_number="C1")
    other = make_policy(session, doc_number="C2")
    update = {k: (policy.id if v == "self" else other.id if v == "other" else v) for k, v in update.items()}
    with pytest.raises(service.PolicyError, match=message):
        service.update_policy(session=session, policy=policy, policy_in=PolicyUpdate(**update))


def test_revision_cycle_is_refused(session):
    a = make_policy(session, doc_number="D1")
    b = make_policy(session, doc_number="D2")
    service.update_policy(session=session, policy=a, policy_in=PolicyUpdate(superseded_by_id=b.id))
    with pytest.raises(service.PolicyError, match="成环"):
        service.update_policy(session=session, policy=b, policy_in=PolicyUpdate(superseded_by_id=a.id))


def test_topics_parks_and_tags_link_to_their_rows(seeded):
    from subscriptions.models import Park

    seeded.add(Park(name="高新区"))
    policy = make_policy(seeded, topics=["营商环境", "科技创新"], parks=["高新区"], tags=["专精特新"])
    assert [t.name for t in policy.topics] == ["科技创新", "营商环境"]  # in topic id order
    assert [p.name for p in policy.parks] == ["高新区"] and [t.name for t in policy.tags] == ["专精特新"]
    service.update_policy(session=seeded, policy=policy, policy_in=PolicyUpdate(topics=["营商环境"]))
    assert [t.name for t in policy.topics] == ["营商环境"]
    assert service.history(session=seeded, policy_id=policy.id)[0].changes == {
        "topics": [["科技创新", "营商环境"], ["营商环境"]]}


def test_bad_industry_is_refused_by_the_schema():
    with pytest.raises(ValueError, match="未知行业代码"):
        PolicyCreate(title="x", industries=["Z9"])


def test_delete_keeps_successor_links_consistent(session):
    old = make_policy(session, doc_number="E1")
    new = make_policy(session, doc_number="E2")
    service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(superseded_by_id=new.id))
    service.delete_policy(session=session, policy=new)
    session.expire_all()
    assert session.get(Policy, old.id).superseded_by_id is None
    assert service.list_policies(session=session)[0] == 1
