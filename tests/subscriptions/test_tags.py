"""Parks and industry sections mirrored as WeChat tags, against the sandbox WeChat API."""
import time

import pytest
from sqlalchemy import select

from core.db import session_scope
from subscriptions import service, tags
from subscriptions.models import Enterprise, WeChatTag
from subscriptions.schemas import ParkCreate, ParkUpdate
from tests import live
from tests.conftest import TEST_WECHAT, clear_caches
from tests.subscriptions.enterprise_files import code
from wechat.client import get_client


@pytest.fixture(scope="module")
def sandbox_api():
    with live.sandbox(dict(TEST_WECHAT)) as (base, state):
        yield base, state


@pytest.fixture
def wechat(app_env, sandbox_api, monkeypatch):
    """The app's database and the sandbox, reset; yields the sandbox's state."""
    base, state = sandbox_api
    monkeypatch.setenv("WECHAT_API_BASE", base)
    clear_caches()
    state.reset()
    yield state
    clear_caches()


def build(parks: dict[str, str | None], enterprises: dict[str, tuple[str, str | None]],
          followers: dict[str, dict]) -> dict[str, int]:
    """parks: name -> scene; enterprises: name -> (division, park); followers: openid -> {"bound": [...],
    "scene": str, "muted": bool, "unfollowed": bool}. Returns ids by name."""
    ids: dict[str, int] = {}
    with session_scope() as s:
        for name, scene in parks.items():
            ids[name] = service.create_park(session=s, park_in=ParkCreate(name=name, qr_scene=scene)).id
        for n, (name, (division, park)) in enumerate(enterprises.items(), start=1):
            e = Enterprise(credit_code=code(n), name=name, industry_code=division, park_id=ids.get(park))
            s.add(e)
            s.flush()
            ids[name] = e.id
        for openid, spec in followers.items():
            f = service.follow(session=s, openid=openid, qr_scene=spec.get("scene"))
            for e in spec.get("bound", []):
                service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=ids[e])
            f.muted = spec.get("muted", False)
            if spec.get("unfollowed"):
                service.unfollow(session=s, openid=openid)
            ids[openid] = f.id
    return ids


def sync(**kwargs):
    with session_scope() as s:
        return tags.sync(session=s, client=get_client(), backoff=0.001, **kwargs)


def tag_names(state, openid) -> set[str]:
    f = state.followers.get(openid)
    return {state.tags[t] for t in f.tags} if f else set()


def our_tag(name_prefix: str) -> str:
    with session_scope() as s:
        return next(r.name for r in service.list_wechat_tags(session=s) if r.name.startswith(name_prefix))


WORLD = dict(
    parks={"高新区": "park-gx", "经开区": "park-jk"},
    enterprises={"船厂": ("37", "高新区"), "软件": ("65", "高新区"), "泳装": ("18", None)},
    followers={
        "oBound00001": {"bound": ["船厂"]},                      # 高新区, C
        "oTwoSect001": {"bound": ["软件", "泳装"]},               # 高新区, I and C
        "oScanOnly01": {"scene": "park-jk"},                     # 经开区 by its QR code, no enterprise
        "oMuted00001": {"bound": ["船厂"], "muted": True},        # not reachable: not tagged
        "oGone000001": {"bound": ["船厂"], "unfollowed": True},
    })


def test_sync_mirrors_parks_and_sections_and_is_idempotent(wechat):
    build(**WORLD)
    report = sync()
    assert len(report.tags_created) == 2 + 20 and report.skipped_tags == []
    gx, jk = our_tag("园区1"), our_tag("园区2")
    c, i = our_tag("行业C"), our_tag("行业I")
    assert (gx, c) == ("园区1·高新区", "行业C·制造业") and all(len(n.encode()) <= 30 for n in report.tags_created)
    assert tag_names(wechat, "oBound00001") == {gx, c}
    assert tag_names(wechat, "oTwoSect001") == {gx, c, i}
    assert tag_names(wechat, "oScanOnly01") == {jk}
    assert tag_names(wechat, "oMuted00001") == set() and tag_names(wechat, "oGone000001") == set()
    assert report.tagged == 6
    calls = wechat.stats["api_calls"]
    again = sync()
    assert (again.tags_created, again.tagged, again.untagged, again.forgotten, again.batch_sizes) == ([], 0, 0, 0, [])
    assert wechat.stats["api_calls"] - calls == 1  # tags/get, nothing else
    with session_scope() as s:
        assert len(service.list_wechat_tags(session=s)) == 22
        assert sum(service.wechat_tag_member_counts(session=s).values()) == 6


def test_followers_who_leave_are_untagged(wechat):
    ids = build(**WORLD)
    sync()
    with session_scope() as s:
        service.unbind_enterprise(session=s, follower_id=ids["oTwoSect001"], enterprise_id=ids["泳装"])  # leaves C
        service.unfollow(session=s, openid="oBound00001")
        service.follow(session=s, openid="oScanOnly01", qr_scene="park-gx")  # scanned another park's code
        service.set_mute(session=s, follower=service.get_by_openid(session=s, openid="oMuted00001"), muted=False)
    report = sync()
    gx, c, i = our_tag("园区1"), our_tag("行业C"), our_tag("行业I")
    assert tag_names(wechat, "oTwoSect001") == {gx, i}
    assert tag_names(wechat, "oScanOnly01") == {gx}
    assert tag_names(wechat, "oMuted00001") == {gx, c}
    assert report.forgotten == 2  # the unfollowed follower's two tags, without a call
    assert (report.untagged, report.tagged) == (2, 3)
    assert sync().batch_sizes == []


def test_tagging_goes_in_batches_of_50(wechat):
    followers = {f"oMany{n:06d}": {"bound": ["船厂"]} for n in range(120)}
    build({"高新区": None}, {"船厂": ("37", "高新区")}, followers)
    report = sync()
    # one park tag and one section tag, 120 followers each; the sandbox refuses more than 50 (40032)
    assert sorted(report.batch_sizes) == [20, 20, 50, 50, 50, 50] and report.tagged == 240
    assert all(len(tag_names(wechat, o)) == 2 for o in followers)
    for o in list(followers)[:60]:
        with session_scope() as s:
            service.unfollow(session=s, openid=o)
    with session_scope() as s:  # the rest stop being in the park: untagged in batches too
        for e in s.scalars(select(Enterprise)):
            e.park_id = None
    report = sync()
    assert report.forgotten == 120 and report.untagged == 60 and report.batch_sizes == [50, 10]


def test_account_limit_of_100_tags_is_respected_and_reported(wechat):
    client = get_client()
    for n in range(10):  # tags staff made by hand at WeChat count against the 100
        client.tag.create(f"手工{n}")
    parks = {f"园区{n:02d}": None for n in range(85)}
    ids = build(parks, {"厂": ("37", "园区84"), "店": ("65", "园区83")},
                {"oPark000084": {"bound": ["厂"]}, "oPark000083": {"bound": ["店"]}})
    report = sync()
    assert len(report.skipped_tags) == 105 - 90 and all("100 tags" in x for x in report.skipped_tags)
    assert sum(1 for t in wechat.tags if t not in tags.SYSTEM_TAGS) == 100
    created = set(report.tags_created)
    # the tags with followers come first; the skipped ones reach no one
    assert {f"园区{ids['园区84']}·园区84", f"园区{ids['园区83']}·园区83", "行业C·制造业"} <= created
    assert any(x.startswith("行业I·信息传输") for x in created)
    assert len(tag_names(wechat, "oPark000084")) == 2 and len(tag_names(wechat, "oPark000083")) == 2
    again = sync()
    assert again.tags_created == [] and len(again.skipped_tags) == 15 and again.batch_sizes == []


def test_a_user_with_20_tags_is_skipped_and_reported(wechat):
    client = get_client()
    full = [client.tag.create(f"满{n}")["id"] for n in range(20)]
    build({"高新区": None}, {"厂": ("37", "高新区")},
          {"oFull000001": {"bound": ["厂"]}, "oFine000001": {"bound": ["厂"]}})
    wechat.follower("oFull000001").tags = list(full)
    report = sync()
    assert report.skipped_followers == 2  # refused for the park tag and the section tag
    assert len(tag_names(wechat, "oFine000001")) == 2 and len(wechat.followers["oFull000001"].tags) == 20


def test_busy_wechat_is_retried_with_backoff(wechat):
    build(**WORLD)
    wechat.knobs.error_rate = 0.4
    report = sync(attempts=12)
    assert report.retries > 0 and wechat.stats["errors_injected"] > 0
    wechat.knobs.error_rate = 0
    assert tag_names(wechat, "oTwoSect001") == {our_tag("园区1"), our_tag("行业C"), our_tag("行业I")}
    assert sync().batch_sizes == []


def test_busy_beyond_the_retries_raises_and_a_rerun_resumes(wechat):
    build(**WORLD)
    wechat.knobs.error_rate = 1.0
    from wechatpy.exceptions import WeChatClientException

    with pytest.raises(WeChatClientException):
        sync(attempts=2)
    wechat.knobs.error_rate = 0
    report = sync()
    assert report.tagged == 6


def test_renamed_and_deleted_parks(wechat):
    ids = build(**WORLD)
    sync()
    with session_scope() as s:
        service.update_park(session=s, park=service.get_park(session=s, park_id=ids["高新区"]),
                            park_in=ParkUpdate(name="高新技术产业开发区管委会直属园区"))
        service.delete_park(session=s, park=service.get_park(session=s, park_id=ids["经开区"]))
    report = sync()
    assert report.tags_renamed == ["园区1·高新区 -> 园区1·高新技术产业开"]
    assert report.tags_deleted == ["园区2·经开区"]
    assert "园区2·经开区" not in wechat.tags.values()
    assert tag_names(wechat, "oScanOnly01") == set()
    with session_scope() as s:
        assert s.scalar(select(WeChatTag).where(WeChatTag.name == "园区2·经开区")) is None


def test_a_tag_deleted_at_wechat_is_made_again(wechat):
    build(**WORLD)
    sync()
    gx_id = next(t for t, n in wechat.tags.items() if n == "园区1·高新区")
    get_client().tag.delete(gx_id)
    report = sync()
    assert report.tags_created == ["园区1·高新区"] and report.tagged == 2


@pytest.mark.slow
def test_sync_from_the_api_runs_on_a_worker(client, wechat, sandbox_api, app_env, monkeypatch):
    """POST /api/wechat-tags/sync queues the job; a real Celery worker mirrors the tags at the sandbox."""
    from staff import service as staff_service
    from staff.models import Role
    from staff.security import issue_token

    build(**WORLD)
    with session_scope() as s:
        user = staff_service.create_user(session=s, username="ed", password="x" * 12, role=Role.editor)
        headers = {"Authorization": f"Bearer {issue_token(user.id, 'editor')}"}
    env = {**app_env, "WECHAT_API_BASE": sandbox_api[0]}
    with live.worker(env, concurrency=1, name="tags"):
        assert client.post("/api/wechat-tags/sync", headers=headers).status_code == 202
        first = wait_for_report(None)
        assert len(first.tags_created) == 22 and first.tagged == 6
        assert tag_names(wechat, "oScanOnly01") == {"园区2·经开区"}
        r = client.post("/api/wechat-tags/sync", headers=headers)
        assert r.status_code == 202 and r.json()["last_report"]["tagged"] == 6, r.text
        second = wait_for_report(first.finished_at)
        assert (second.tags_created, second.tagged, second.batch_sizes) == ([], 0, [])
    listed = client.get("/api/wechat-tags", headers=headers).json()
    assert {t["name"]: t["members"] for t in listed if t["members"]} == {
        "园区1·高新区": 2, "园区2·经开区": 1, "行业C·制造业": 2, "行业I·信息传输、软件": 1}


def wait_for_report(previous, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = tags.last_report()
        if report is not None and report.finished_at != previous:
            return report
        time.sleep(0.2)
    raise TimeoutError("no tag sync report")


def test_park_qrcode_is_made_at_wechat_and_recorded(client, wechat, staff):
    ed = staff["editor"]
    pid = client.post("/api/parks", headers=ed, json={"name": "北港工业区"}).json()["id"]
    r = client.post(f"/api/parks/{pid}/qrcode", headers=ed)
    assert r.status_code == 200, r.text
    park = r.json()
    assert park["qr_scene"] == f"park-{pid}" and park["qr_ticket"] and park["qr_url"] and park["qr_created_at"]
    made = wechat.qrcodes[park["qr_ticket"]]
    assert (made["action_name"], made["scene"], made["url"]) == ("QR_LIMIT_STR_SCENE", f"park-{pid}", park["qr_url"])
    again = client.post(f"/api/parks/{pid}/qrcode", headers=ed).json()
    assert again["qr_ticket"] == park["qr_ticket"] and len(wechat.qrcodes) == 1  # permanent codes are kept
    changed = client.patch(f"/api/parks/{pid}", headers=ed, json={"qr_scene": "bg-2025"}).json()
    assert (changed["qr_scene"], changed["qr_ticket"], changed["qr_url"]) == ("bg-2025", None, None)
    wechat.knobs.error_rate = 1.0
    r = client.post(f"/api/parks/{pid}/qrcode", headers=ed)
    assert r.status_code == 502 and "-1" in r.json()["detail"]
    assert client.get(f"/api/parks/{pid}", headers=ed).json()["qr_ticket"] is None
    wechat.knobs.error_rate = 0
    new = client.post(f"/api/parks/{pid}/qrcode", headers=ed).json()
    assert wechat.qrcodes[new["qr_ticket"]]["scene"] == "bg-2025"
    with session_scope() as s:
        from staff.models import AuditEntry

        assert s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "park.qrcode")).all() == [
            {"scene": f"park-{pid}"}, {"scene": f"park-{pid}"}, {"scene": "bg-2025"}]
