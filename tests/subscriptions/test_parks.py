"""A park's QR code records the park of whoever scans it; what that means for segments; unsubscribe."""
import time

import pytest

from core.db import session_scope
from subscriptions import service
from subscriptions.models import Enterprise, Park
from subscriptions.schemas import ParkCreate
from subscriptions.segments import iter_recipients, preview
from tests.subscriptions.enterprise_files import code
from tests.webhooks import wx


def post(client, xml: str):
    return client.post("/wechat", params=wx.signed_query(), content=xml.encode())


def event(openid: str, name: str, key: str | None = None, at: int | None = None) -> str:
    fields = {"Event": name, **({"EventKey": key} if key is not None else {})}
    return wx.message(openid, kind="event", created=at or int(time.time()), **fields)


@pytest.fixture
def parks(client):
    with session_scope() as s:
        gx = service.create_park(session=s, park_in=ParkCreate(name="高新区", qr_scene="park-gx")).id
        jk = service.create_park(session=s, park_in=ParkCreate(name="经开区", qr_scene="park-jk")).id
    return gx, jk


def follower(openid: str):
    with session_scope() as s:
        return service.get_by_openid(session=s, openid=openid)


def test_scanning_a_park_code_records_the_park(client, parks):
    gx, jk = parks
    now = int(time.time())
    assert post(client, event("oScan000001", "subscribe", "qrscene_park-gx", now)).status_code == 200
    f = follower("oScan000001")
    assert (f.qr_scene, f.park_id) == ("park-gx", gx)
    post(client, event("oScan000001", "SCAN", "park-jk", now + 1))  # an existing follower scans another park
    assert follower("oScan000001").park_id == jk
    post(client, event("oScan000001", "SCAN", "poster-2024", now + 2))  # a code that is not a park's
    f = follower("oScan000001")
    assert (f.qr_scene, f.park_id) == ("poster-2024", jk)
    post(client, event("oPlain00001", "subscribe", None, now))
    assert follower("oPlain00001").park_id is None


def test_unsubscribe_through_the_webhook_stops_delivery_and_following_again_restores(client, parks):
    gx, _ = parks
    now = int(time.time())
    post(client, event("oLeave00001", "subscribe", "qrscene_park-gx", now))
    with session_scope() as s:
        e = Enterprise(credit_code=code(1), name="甲", industry_code="37", park_id=gx)
        s.add(e)
        s.flush()
        service.bind_enterprise(session=s, follower_id=follower("oLeave00001").id, enterprise_id=e.id)

    def recipients(flt):
        with session_scope() as s:
            return [r.openid for r in iter_recipients(session=s, filter=flt)]

    for flt in ({}, {"parks": [gx]}, {"industries": ["C"]}):
        assert recipients(flt) == ["oLeave00001"]
    post(client, event("oLeave00001", "unsubscribe", None, now + 1))
    for flt in ({}, {"parks": [gx]}, {"industries": ["C"]}):
        assert recipients(flt) == []
        with session_scope() as s:
            assert preview(session=s, filter=flt).followers == 0
    post(client, event("oLeave00001", "subscribe", None, now + 2))
    assert recipients({"industries": ["C"]}) == ["oLeave00001"]
    assert follower("oLeave00001").park_id == gx  # the park, like the bindings, comes back


@pytest.fixture
def park_world(seeded):
    """E1 (C37) in 高新区 (p1); E2 (I65) no park. F1 bound to E1; F2 scanned p1, no enterprise;
    F3 scanned p2 and bound to E2; F4 scanned p1 but muted; F5 bound to E2, no scan."""
    s = seeded
    p1, p2 = (s.query(Park).filter_by(name=n).one().id for n in ("高新区", "经开区"))
    s.query(Park).filter_by(id=p2).one().qr_scene = "park-jk"
    e1 = Enterprise(credit_code=code(1), name="E1", industry_code="37", park_id=p1)
    e2 = Enterprise(credit_code=code(2), name="E2", industry_code="65")
    s.add_all([e1, e2])
    s.flush()
    ids = {"p1": p1, "p2": p2}
    for name, scene, bound in (("F1", None, e1), ("F2", "park-gx", None), ("F3", "park-jk", e2),
                               ("F4", "park-gx", None), ("F5", None, e2)):
        f = service.follow(session=s, openid=f"o-{name}", qr_scene=scene)
        if bound is not None:
            service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=bound.id)
        ids[name] = f.id
    service.set_mute(session=s, follower=service.get_by_openid(session=s, openid="o-F4"), muted=True)
    return s, ids


@pytest.mark.parametrize("flt, enterprises, followers", [
    ({"parks": ["p1"]}, 1, ["F1", "F2"]),                      # the park's enterprises' followers + its scanners
    ({"parks": ["p2"]}, 0, ["F3"]),                            # a scanner bound elsewhere counts for the park too
    ({"parks": ["p1", "p2"]}, 1, ["F1", "F2", "F3"]),
    ({"parks": ["p1"], "industries": ["C"]}, 1, ["F1"]),       # a scan says nothing of industry: enterprise needed
    ({"parks": ["p2"], "sizes": ["小"]}, 0, []),
    ({"parks": ["p1", "p2"], "exclude": {"parks": ["p2"]}}, 1, ["F1", "F2"]),
    ({"exclude": {"parks": ["p1"]}}, 1, ["F3", "F5"]),        # exclusion alone works on enterprises
    ({"industries": ["I"]}, 1, ["F3", "F5"]),
    ({}, 2, ["F1", "F2", "F3", "F5"]),
])
def test_park_filters_reach_followers_who_scanned_the_park(park_world, flt, enterprises, followers):
    s, ids = park_world

    def resolve(c):
        return {k: resolve(v) if k == "exclude" else [ids.get(x, x) if k == "parks" else x for x in v]
                for k, v in c.items()}

    result = preview(session=s, filter=resolve(flt))
    streamed = [r.openid.removeprefix("o-") for r in iter_recipients(session=s, filter=resolve(flt), batch=2)]
    assert (result.enterprises, streamed, result.followers) == (enterprises, followers, len(followers))
