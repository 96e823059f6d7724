from datetime import timedelta

import pytest

from core.db import utcnow
from subscriptions import segments, service
from subscriptions.models import Enterprise, EnterpriseTag, Follower, FollowerState, Park, Topic
from subscriptions.segments import SegmentFilterError, iter_recipients, preview, recipient_batches
from tests.subscriptions.enterprise_files import code


@pytest.fixture
def world(seeded):
    """Four enterprises, nine followers; `ids` maps short names to database ids."""
    s = seeded
    p1, p2 = (s.query(Park).filter_by(name=n).one().id for n in ("高新区", "经开区"))
    zj, gx = (s.query(EnterpriseTag).filter_by(name=n).one() for n in ("专精特新", "高新技术企业"))
    k1, k2 = (s.query(Topic).filter_by(name=n).one().id for n in ("科技创新", "财税金融"))
    ents = {
        "E1": Enterprise(credit_code=code(1), name="E1", industry_code="37", park_id=p1, size="大", tags=[zj]),
        "E2": Enterprise(credit_code=code(2), name="E2", industry_code="65", park_id=p1, size="小", tags=[gx]),
        "E3": Enterprise(credit_code=code(3), name="E3", industry_code="13", park_id=p2, size="微"),
        "E4": Enterprise(credit_code=code(4), name="E4", industry_code="01", tags=[zj, gx]),
    }
    s.add_all(ents.values())
    s.flush()
    now = utcnow()
    spec = {  # name: (bound enterprises, topics, follower changes)
        "F1": (["E1"], [k1], {}),
        "F2": (["E2"], [k2], {}),
        "F3": (["E3", "E1"], [k1, k2], {}),
        "F4": (["E4"], [], {}),
        "F5": ([], [k1], {}),
        "F6": (["E1"], [k1], {"state": FollowerState.unfollowed}),
        "F7": (["E1"], [k1], {"muted": True}),
        "F8": (["E1"], [k1], {"muted_until": now + timedelta(days=1)}),
        "F9": (["E1"], [], {"muted_until": now - timedelta(minutes=1)}),
    }
    ids = {"p1": p1, "p2": p2, "zj": zj.id, "gx": gx.id, "k1": k1, "k2": k2}
    for name, (bound, topics, changes) in spec.items():
        f = service.follow(session=s, openid=f"o-{name}")
        for key, value in changes.items():
            setattr(f, key, value)
        for e in bound:
            service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=ents[e].id)
        service.subscribe(session=s, follower_id=f.id, topic_ids=topics)
        ids[name] = f.id
    s.flush()
    return s, ids


def _run(session, flt):
    result = preview(session=session, filter=flt)
    names = [r.openid.removeprefix("o-") for r in iter_recipients(session=session, filter=flt, batch=2)]
    assert result.followers == len(names)
    return result.enterprises, sorted(names), sorted(e.name for e in result.sample)


def test_empty_filter_reaches_every_reachable_follower(world):
    s, _ = world
    ents, followers, sample = _run(s, {})
    assert ents == 4 and followers == ["F1", "F2", "F3", "F4", "F5", "F9"]
    assert sample == ["E1", "E2", "E3", "E4"]


@pytest.mark.parametrize("flt,ents,followers", [
    ({"industries": ["C"]}, ["E1", "E3"], ["F1", "F3", "F9"]),          # section: divisions 13-43
    ({"industries": ["37"]}, ["E1"], ["F1", "F3", "F9"]),               # division
    ({"industries": ["13"]}, ["E3"], ["F3"]),
    ({"industries": ["c", "I"]}, ["E1", "E2", "E3"], ["F1", "F2", "F3", "F9"]),  # OR within a key
    ({"industries": ["C"], "parks": ["p1"]}, ["E1"], ["F1", "F3", "F9"]),       # AND across keys
    ({"industries": ["C"], "exclude": {"parks": ["p1"]}}, ["E3"], ["F3"]),
    ({"exclude": {"parks": ["p1"]}}, ["E3", "E4"], ["F3", "F4"]),        # no park is not an excluded park
    ({"sizes": ["小", "微"]}, ["E2", "E3"], ["F2", "F3"]),
    ({"exclude": {"sizes": ["大"]}}, ["E2", "E3", "E4"], ["F2", "F3", "F4"]),
    ({"tags": ["zj"]}, ["E1", "E4"], ["F1", "F3", "F4", "F9"]),
    ({"tags": ["zj", "gx"]}, ["E1", "E2", "E4"], ["F1", "F2", "F3", "F4", "F9"]),
    ({"tags": ["zj"], "exclude": {"tags": ["gx"]}}, ["E1"], ["F1", "F3", "F9"]),
    ({"exclude": {"industries": ["A", "I"]}}, ["E1", "E3"], ["F1", "F3", "F9"]),
    ({"topics": ["k1"]}, ["E1", "E2", "E3", "E4"], ["F1", "F3", "F5"]),  # unbound subscribers too
    ({"topics": ["k1", "k2"]}, ["E1", "E2", "E3", "E4"], ["F1", "F2", "F3", "F5"]),
    ({"industries": ["C"], "topics": ["k2"]}, ["E1", "E3"], ["F3"]),
    ({"exclude": {"topics": ["k2"]}}, ["E1", "E2", "E3", "E4"], ["F1", "F4", "F5", "F9"]),
    ({"industries": ["C"], "parks": ["p1"], "sizes": ["微"]}, [], []),
])
def test_segment_semantics(world, flt, ents, followers):
    s, ids = world

    def resolve(c):
        return {k: [ids.get(v, v) if isinstance(v, str) and k != "industries" and k != "sizes" else v
                    for v in vals] if k != "exclude" else resolve(vals) for k, vals in c.items()}

    got_ents, got_followers, sample = _run(s, resolve(flt))
    assert (sample, got_followers) == (ents, followers)
    assert got_ents == len(ents)


def test_follower_bound_to_two_matching_enterprises_counts_once(world):
    s, ids = world
    result = preview(session=s, filter={"industries": ["13", "37"]})
    streamed = [r.follower_id for r in iter_recipients(session=s, filter={"industries": ["13", "37"]})]
    assert streamed.count(ids["F3"]) == 1 and result.followers == len(streamed) == 3


def test_unfollow_and_mute_stop_delivery_follow_restores(world):
    s, ids = world
    flt = {"industries": ["37"]}
    service.unfollow(session=s, openid="o-F1")
    assert ids["F1"] not in [r.follower_id for r in iter_recipients(session=s, filter=flt)]
    service.follow(session=s, openid="o-F1")  # bindings and subscriptions come back with the follower
    assert ids["F1"] in [r.follower_id for r in iter_recipients(session=s, filter=flt)]
    f1 = s.get(Follower, ids["F1"])
    service.set_mute(session=s, follower=f1, muted=True, until=utcnow() + timedelta(hours=2))
    assert not f1.muted and f1.muted_until is not None
    assert preview(session=s, filter=flt).followers == 2
    later = utcnow() + timedelta(hours=3)
    assert preview(session=s, filter=flt, now=later).followers == 3
    service.set_mute(session=s, follower=s.get(Follower, ids["F7"]), muted=False)
    assert preview(session=s, filter=flt, now=later).followers == 4


@pytest.mark.parametrize("flt,message", [
    ({"industry": ["C"]}, "industry: unknown key"),
    ({"industries": ["U"]}, "unknown industry code 'U'"),
    ({"industries": ["98"]}, "unknown industry code '98'"),
    ({"sizes": ["特大"]}, "unknown size"),
    ({"parks": [999]}, "parks: unknown id(s) [999]"),
    ({"exclude": {"topics": [998]}}, "exclude.topics: unknown id(s) [998]"),
    ({"tags": [997]}, "tags: unknown id(s) [997]"),
    ({"exclude": {"exclude": {}}}, "exclude.exclude: unknown key"),
])
def test_bad_filters_are_explained(world, flt, message):
    s, _ = world
    with pytest.raises(SegmentFilterError) as exc:
        preview(session=s, filter=flt)
    assert message in str(exc.value)


def test_keyset_stream_is_ordered_complete_and_resumable(seeded):
    s = seeded
    park = s.query(Park).filter_by(name="高新区").one().id
    ents = [Enterprise(credit_code=code(n), name=f"E{n}", industry_code="37" if n % 3 else "65",
                       park_id=park) for n in range(30)]
    s.add_all(ents)
    s.flush()
    expected = set()
    for n in range(120):
        f = service.follow(session=s, openid=f"o-{n}")
        bound = [ents[n % 30], ents[(n * 7) % 30]]  # often two enterprises, sometimes one twice
        for e in bound:
            service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=e.id)
        if any(e.industry_code == "37" for e in bound):
            expected.add(f.id)
    flt = {"industries": ["C"], "parks": [park]}
    batches = list(recipient_batches(session=s, filter=flt, batch=7, window=10, window_rows=5))  # many windows
    assert all(len(b) == 7 for b in batches[:-1]) and 0 < len(batches[-1]) <= 7
    ids = [r.follower_id for b in batches for r in b]
    assert ids == sorted(expected) and len(ids) == len(set(ids))
    assert preview(session=s, filter=flt).followers == len(expected)
    resume = ids[40]
    resumed = iter_recipients(session=s, filter=flt, batch=5, window=13, after_id=resume)
    assert [r.follower_id for r in resumed] == ids[41:]


def test_parse_filter_normalizes(world):
    s, ids = world
    f = segments.parse_filter(session=s, filter={"industries": ["c", "C", "37"], "sizes": ["小型企业", "小"]})
    assert f.industries == ["C", "37"] and f.sizes == ["小"]
