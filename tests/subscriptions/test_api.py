"""The subscriptions staff API through the real app: roles, CRUD, import/export, segments, followers."""
import io

import openpyxl
import pytest
from sqlalchemy import select

from core.db import session_scope
from staff.models import AuditEntry
from subscriptions import api as subscriptions_api
from subscriptions import service
from subscriptions.models import Enterprise
from tests.imports import finished
from tests.subscriptions.enterprise_files import HEADERS, code, write_csv, write_xlsx

READS_FOR_ANALYSTS = {("POST", "/api/segments/preview")}


def test_every_route_refuses_anonymous_and_wrong_roles(client, staff):
    checked = 0
    for route in subscriptions_api.router.routes:
        path = route.path.format(**{p: 1 for p in route.param_convertors})
        for method in route.methods:
            assert client.request(method, path).status_code == 401, (method, path)
            # reviewers approve campaigns; they neither read nor change the subscription data
            assert client.request(method, path, headers=staff["reviewer"]).status_code == 403, (method, path)
            analyst = client.request(method, path, headers=staff["analyst"]).status_code
            if method == "GET" and not path.endswith("/export") or (method, route.path) in READS_FOR_ANALYSTS:
                assert analyst not in (401, 403), (method, path)
            else:
                assert analyst == 403, (method, path)
            checked += 1
    assert checked >= 30


def test_routes_are_documented(client):
    spec = client.get("/openapi.json").json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()
           if any(p.startswith(f"/api/{x}") for x in ("topics", "enterprise", "parks", "segments", "followers",
                                                      "wechat-tags"))]
    assert len(ops) >= 30
    for path, method, op in ops:
        assert op.get("summary"), (method, path)
        ok = op["responses"].get("200") or op["responses"].get("201") or op["responses"].get("202") \
            or op["responses"].get("204")
        assert ok, (method, path)


def test_topics_and_tags(client, staff, api_world):
    ed, an = staff["editor"], staff["analyst"]
    topics = client.get("/api/topics", headers=an).json()
    assert topics[0]["name"] == "科技创新" and len(topics) == 13
    r = client.post("/api/topics", headers=ed, json={"name": "低空经济", "description": "无人机"})
    assert r.status_code == 201 and r.json()["sort_order"] == 14
    assert client.post("/api/topics", headers=ed, json={"name": "低空经济"}).status_code == 409
    assert client.post("/api/topics", headers=ed, json={"name": ""}).status_code == 422
    tid = r.json()["id"]
    assert client.patch(f"/api/topics/{tid}", headers=ed, json={"name": "科技创新"}).status_code == 409
    assert client.patch(f"/api/topics/{tid}", headers=ed, json={"sort_order": 0}).json()["sort_order"] == 0
    assert client.delete(f"/api/topics/{tid}", headers=ed).json()["active"] is False
    assert tid not in [t["id"] for t in client.get("/api/topics", headers=an).json()]
    assert tid in [t["id"] for t in client.get("/api/topics?include_inactive=true", headers=an).json()]
    assert client.patch("/api/topics/999", headers=ed, json={"name": "x"}).status_code == 404

    r = client.post("/api/enterprise-tags", headers=ed, json={"name": "瞪羚企业"})
    assert r.status_code == 201 and r.json()["active"] is True
    gid = r.json()["id"]
    assert client.post("/api/enterprise-tags", headers=ed, json={"name": "瞪羚企业"}).status_code == 409
    assert client.patch(f"/api/enterprise-tags/{gid}", headers=ed, json={"description": "高成长"}).json()[
        "description"] == "高成长"
    assert client.delete(f"/api/enterprise-tags/{gid}", headers=ed).json()["active"] is False
    assert "瞪羚企业" not in [t["name"] for t in client.get("/api/enterprise-tags", headers=an).json()]
    # a deactivated tag may no longer be given to enterprises
    r = client.post("/api/enterprises", headers=ed, json={"credit_code": code(1), "name": "甲", "tag_ids": [gid]})
    assert r.status_code == 422 and "deactivated" in r.json()["detail"]
    with session_scope() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions[:3] == ["topic.create", "topic.update", "topic.deactivate"]
    assert "enterprise_tag.deactivate" in actions


def test_parks_crud_and_delete_keeps_members(client, staff, api_world):
    ed, an = staff["editor"], staff["analyst"]
    r = client.post("/api/parks", headers=ed, json={"name": "北港工业区", "qr_scene": "park-bg"})
    assert r.status_code == 201
    pid = r.json()["id"]
    assert client.post("/api/parks", headers=ed, json={"name": "北港工业区"}).status_code == 409
    assert client.post("/api/parks", headers=ed, json={"name": "别的", "qr_scene": "park-bg"}).status_code == 409
    assert [p["name"] for p in client.get("/api/parks", headers=an).json()] == ["北港工业区", "经开区", "高新区"]
    assert client.get(f"/api/parks/{pid}", headers=an).json()["qr_scene"] == "park-bg"
    assert client.patch(f"/api/parks/{pid}", headers=ed, json={"name": "北港"}).json()["name"] == "北港"
    e = client.post("/api/enterprises", headers=ed, json={"credit_code": code(1), "name": "甲", "park_id": pid})
    with session_scope() as s:
        f = service.follow(session=s, openid="oScan000001", qr_scene="park-bg")
        assert f.park_id == pid
    assert client.delete(f"/api/parks/{pid}", headers=ed).status_code == 204
    assert client.get(f"/api/parks/{pid}", headers=an).status_code == 404
    assert client.get(f"/api/enterprises/{e.json()['id']}", headers=an).json()["park_id"] is None
    with session_scope() as s:
        assert service.get_by_openid(session=s, openid="oScan000001").park_id is None


def test_enterprise_crud_and_masking(client, staff, api_world):
    ed, an, admin = staff["editor"], staff["analyst"], staff["admin"]
    body = {"credit_code": code(1).lower(), "name": "渤海造船", "industry_code": "C3731", "park_id": api_world["gx"],
            "size": "大型", "tag_ids": [api_world["专精特新"]], "contact_name": "张三丰",
            "contact_phone": "13812345678"}
    r = client.post("/api/enterprises", headers=ed, json=body)
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["credit_code"], e["industry_code"], e["size"], e["park"], e["tags"], e["masked"]) == (
        code(1), "37", "大", "高新区", ["专精特新"], False)
    assert client.post("/api/enterprises", headers=ed, json=body).status_code == 409
    wrong = code(2)[:17] + ("0" if code(2)[17] != "0" else "1")
    r = client.post("/api/enterprises", headers=ed, json={"credit_code": wrong, "name": "x"})
    assert r.status_code == 422 and f"应为“{code(2)[17]}”" in r.text
    assert client.post("/api/enterprises", headers=ed, json={"credit_code": code(2), "name": "x",
                                                             "industry_code": "98"}).status_code == 422
    assert client.post("/api/enterprises", headers=ed, json={"credit_code": code(2), "name": "x",
                                                             "park_id": 999}).status_code == 422
    seen = client.get(f"/api/enterprises/{e['id']}", headers=an).json()
    assert (seen["credit_code"], seen["contact_name"], seen["contact_phone"], seen["masked"]) == (
        "912114**********" + code(1)[-2:], "张**", "138****5678", True)
    assert client.get(f"/api/enterprises/{e['id']}", headers=admin).json()["contact_phone"] == "13812345678"
    r = client.patch(f"/api/enterprises/{e['id']}", headers=ed, json={"size": "小", "tag_ids": []})
    assert (r.json()["size"], r.json()["tags"]) == ("小", [])
    assert client.patch(f"/api/enterprises/{e['id']}", headers=ed, json={"size": "特大"}).status_code == 422
    with session_scope() as s:
        detail = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "enterprise.update")).one()
        assert detail == {"fields": ["size", "tag_ids"]}
    assert client.delete(f"/api/enterprises/{e['id']}", headers=ed).status_code == 204
    assert client.get(f"/api/enterprises/{e['id']}", headers=an).status_code == 404


def test_enterprise_list_filters_and_keyset_paging(client, staff, api_world):
    ed, an = staff["editor"], staff["analyst"]
    for n in range(1, 8):
        client.post("/api/enterprises", headers=ed, json={
            "credit_code": code(n), "name": f"企业{n}", "industry_code": "13" if n % 2 else "65",
            "park_id": api_world["gx"] if n <= 3 else None, "size": "小" if n <= 5 else "微",
            "tag_ids": [api_world["高新技术企业"]] if n in (2, 3) else []})
    pages, after = [], 0
    while True:
        page = client.get("/api/enterprises", headers=an, params={"limit": 3, "after_id": after}).json()
        pages.append([e["name"] for e in page["items"]])
        if page["next_after_id"] is None:
            break
        after = page["next_after_id"]
    assert pages == [["企业1", "企业2", "企业3"], ["企业4", "企业5", "企业6"], ["企业7"]]

    def names(**params):
        r = client.get("/api/enterprises", headers=an, params=params)
        assert r.status_code == 200, r.text
        return [e["name"] for e in r.json()["items"]]

    assert names(industry="C") == ["企业1", "企业3", "企业5", "企业7"]
    assert names(industry="I", park_id=api_world["gx"]) == ["企业2"]
    assert names(size="微") == ["企业6", "企业7"]
    assert names(tag_id=api_world["高新技术企业"]) == ["企业2", "企业3"]
    assert names(q="企业4") == ["企业4"] and names(q=code(5)) == ["企业5"]
    assert client.get("/api/enterprises", headers=an, params={"industry": "Z"}).status_code == 422
    assert client.get("/api/enterprises", headers=an, params={"size": "巨"}).status_code == 422


GOOD = [code(1), "葫芦岛渤海造船有限公司", "37", "高新区", "大", "规上企业", "张三", "13812345678"]


def upload(client, headers, name: str, data: bytes):
    return client.post("/api/enterprises/import", headers=headers, files={"file": (name, data)})


def test_import_upload_reports_bad_rows_and_stores_good_ones(client, staff, api_world, tmp_path):
    rows = [GOOD,
            [code(2)[:17] + "I", "坏代码", "13", None, None, None, None, None],
            [code(3), "坏园区", "13", "不存在园区", None, None, None, None],
            [code(4), "好", "13", None, None, None, None, None]]
    r = upload(client, staff["editor"], "企业.xlsx", write_xlsx(tmp_path / "e.xlsx", rows).read_bytes())
    job = finished(client, staff["editor"], r)
    assert job["status"] == "done" and job["rows_done"] == job["rows_total"] == 4, job
    report = job["report"]
    assert (report["rows"], report["created"], report["rejected_rows"]) == (4, 2, 2)
    assert {(e["row"], e["column"], e["code"]) for e in report["errors"]} == {
        (3, "统一社会信用代码", "bad_credit_code"), (4, "园区", "unknown_park")}
    with session_scope() as s:
        assert sorted(s.scalars(select(Enterprise.credit_code))) == sorted([code(1), code(4)])
        assert s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "enterprise.import")).one()[
            "rejected"] == 2
    again = upload(client, staff["editor"], "企业.xlsx", write_xlsx(tmp_path / "e.xlsx", rows).read_bytes())
    again = finished(client, staff["editor"], again)["report"]
    assert (again["created"], again["unchanged"]) == (0, 2)


@pytest.mark.parametrize("name, data, reason", [
    ("e.txt", b"hello", "无法判断文件格式"),
    ("e.xlsx", b"not a zip file", "无法读取 Excel"),
])
def test_an_upload_that_is_no_spreadsheet_is_400(client, staff, api_world, name, data, reason):
    r = upload(client, staff["editor"], name, data)
    assert r.status_code == 400 and reason in r.json()["detail"]


@pytest.mark.parametrize("data, reason", [("统一社会信用代码,行业代码\n".encode(), "表头缺少列"), (b"", "文件是空的")])
def test_a_file_without_its_columns_is_refused_by_its_job(client, staff, api_world, data, reason):
    job = finished(client, staff["editor"], upload(client, staff["editor"], "e.csv", data))
    assert job["status"] == "refused" and reason in job["error"] and job["report"] is None, job
    with session_scope() as s:
        assert s.scalars(select(Enterprise.id)).first() is None


def test_upload_over_the_size_limit_is_413_and_stores_nothing(client, staff, api_world, tmp_path, monkeypatch):
    from core.settings import get_settings

    data = write_csv(tmp_path / "e.csv", [[code(n), f"企业{n}", "13", None, None, None, None, None]
                                          for n in range(1, 200)]).read_bytes()
    monkeypatch.setenv("IMPORT_MAX_MB", str((len(data) - 1) / 2**20))
    get_settings.cache_clear()
    r = upload(client, staff["editor"], "e.csv", data)
    assert r.status_code == 413 and "文件超过" in r.json()["detail"]
    with session_scope() as s:
        assert s.scalars(select(Enterprise.id)).first() is None
    monkeypatch.setenv("IMPORT_MAX_MB", str(len(data) / 2**20))
    get_settings.cache_clear()
    r = upload(client, staff["editor"], "e.csv", data)
    assert finished(client, staff["editor"], r)["report"]["created"] == 199


def test_file_that_breaks_part_way_stores_nothing(client, staff, api_world, tmp_path):
    # UTF-8 for the first 64 KiB (so read as UTF-8), then a byte that is not: unreadable past that point
    good = [[code(n), f"企业{n}", "13", None, None, None, None, None] for n in range(1, 2001)]
    data = write_csv(tmp_path / "e.csv", good).read_bytes()
    assert len(data) > 70_000
    job = finished(client, staff["editor"], upload(client, staff["editor"], "e.csv", data + b"\xff\xfe,bad\n"))
    assert job["status"] == "refused" and "无法读取" in job["error"]
    with session_scope() as s:
        assert s.scalars(select(Enterprise.id)).first() is None


def test_export_for_editors_only(client, staff, api_world, tmp_path):
    finished(client, staff["editor"],
             upload(client, staff["editor"], "e.xlsx", write_xlsx(tmp_path / "e.xlsx", [GOOD]).read_bytes()))
    assert client.get("/api/enterprises/export", headers=staff["analyst"]).status_code == 403
    for role in ("editor", "admin"):
        r = client.get("/api/enterprises/export", headers=staff[role])
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
        assert list(rows[0]) == HEADERS and rows[1] == tuple(GOOD)  # contacts and credit code in full
    with session_scope() as s:
        assert s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "enterprise.export")).all() == [
            {"rows": 1}, {"rows": 1}]


@pytest.fixture
def audience(client, staff, api_world):
    """Enterprises E1 (C37, 高新区), E2 (I65, 高新区), E3 (C13, 经开区); followers:
    oA bound to E1 and E3 and subscribed to 科技创新, oB bound to E2, oC unbound who scanned 高新区's code,
    oD bound to E1 but unfollowed."""
    ed = staff["editor"]
    ids = {}
    for n, (industry, park) in enumerate([("37", "gx"), ("65", "gx"), ("13", "jk")], start=1):
        r = client.post("/api/enterprises", headers=ed, json={
            "credit_code": code(n), "name": f"E{n}", "industry_code": industry, "park_id": api_world[park]})
        ids[f"E{n}"] = r.json()["id"]
    with session_scope() as s:
        for openid, bound in (("oA", ["E1", "E3"]), ("oB", ["E2"]), ("oC", []), ("oD", ["E1"])):
            f = service.follow(session=s, openid=openid, qr_scene="park-gx" if openid == "oC" else None)
            for e in bound:
                service.bind_enterprise(session=s, follower_id=f.id, enterprise_id=ids[e])
            ids[openid] = f.id
        service.subscribe(session=s, follower_id=ids["oA"], topic_ids=[api_world["科技创新"]])
        service.unfollow(session=s, openid="oD")
    return {**api_world, **ids}


def preview(client, headers, **body):
    return client.post("/api/segments/preview", headers=headers, json=body)


def test_preview_semantics(client, staff, audience):
    an, ids = staff["analyst"], audience

    def counts(flt):
        r = preview(client, an, filter=flt)
        assert r.status_code == 200, r.text
        return r.json()["enterprises"], r.json()["followers"]

    assert counts({}) == (3, 3)                                          # oD unfollowed
    assert counts({"industries": ["C"]}) == (2, 1)                       # oA once, though bound to two
    assert counts({"parks": [ids["gx"]]}) == (2, 3)                      # oC by the park's QR code
    assert counts({"parks": [ids["gx"]], "industries": ["I"]}) == (1, 1)  # a scan says nothing of industry
    assert counts({"parks": [ids["jk"]]}) == (1, 1)
    assert counts({"exclude": {"parks": [ids["gx"]]}}) == (1, 1)
    assert counts({"topics": [ids["科技创新"]]}) == (3, 1)
    r = preview(client, an, filter={"industries": ["C"]}, sample_size=1).json()
    assert [e["name"] for e in r["sample"]] == ["E1"] and "*" in r["sample"][0]["credit_code_masked"]


def test_preview_errors(client, staff, audience):
    an = staff["analyst"]
    r = preview(client, an, filter={"industries": ["U"], "parks": [999], "colour": ["red"]})
    assert r.status_code == 422
    errors = r.json()["detail"]["errors"]
    assert any("colour: unknown key" in e for e in errors) and any("unknown industry code 'U'" in e for e in errors)
    r = preview(client, an, filter={"parks": [999]})
    assert r.status_code == 422 and r.json()["detail"]["errors"] == ["parks: unknown id(s) [999] / 不存在的编号"]
    assert preview(client, an).status_code == 422                             # neither
    assert preview(client, an, filter={}, segment_id=1).status_code == 422     # both
    assert preview(client, an, segment_id=999).status_code == 404
    assert preview(client, an, filter={}, sample_size=1000).status_code == 422


def test_saved_segments(client, staff, audience):
    ed, an, ids = staff["editor"], staff["analyst"], audience
    r = client.post("/api/segments", headers=ed, json={"name": "高新区", "filter": {"parks": [ids["gx"]]}})
    assert r.status_code == 201 and r.json()["filter"] == {"parks": [ids["gx"]]}
    sid = r.json()["id"]
    assert client.post("/api/segments", headers=ed, json={"name": "高新区", "filter": {}}).status_code == 409
    bad = client.post("/api/segments", headers=ed, json={"name": "坏", "filter": {"tags": [999]}})
    assert bad.status_code == 422 and "tags: unknown id(s) [999]" in bad.json()["detail"]["errors"][0]
    assert client.post("/api/segments", headers=ed, json={"name": "坏", "filter": {"sizes": ["巨"]}}).status_code == 422
    assert preview(client, an, segment_id=sid).json()["followers"] == 3
    r = client.patch(f"/api/segments/{sid}", headers=ed, json={"filter": {"parks": [ids["jk"]]}, "name": "经开区"})
    assert r.json()["name"] == "经开区"
    assert preview(client, an, segment_id=sid).json()["followers"] == 1
    assert client.patch(f"/api/segments/{sid}", headers=ed, json={"filter": {"parks": [998]}}).status_code == 422
    assert [s["name"] for s in client.get("/api/segments", headers=an).json()] == ["经开区"]
    assert client.get(f"/api/segments/{sid}", headers=an).json()["filter"] == {"parks": [ids["jk"]]}
    assert client.delete(f"/api/segments/{sid}", headers=ed).status_code == 204
    assert client.get(f"/api/segments/{sid}", headers=an).status_code == 404


def test_followers(client, staff, audience):
    an, ids = staff["editor"], audience  # editors see openids in full (analysts masked: tests/bot)
    items = client.get("/api/followers", headers=an).json()["items"]
    assert [(f["openid"], f["state"], f["park"], f["enterprises"]) for f in items] == [
        ("oA", "following", None, 2), ("oB", "following", None, 1), ("oC", "following", "高新区", 0),
        ("oD", "unfollowed", None, 1)]
    assert [f["openid"] for f in client.get("/api/followers", headers=an, params={"state": "unfollowed"}).json()[
        "items"]] == ["oD"]
    assert [f["openid"] for f in client.get("/api/followers", headers=an, params={"park_id": ids["gx"]}).json()[
        "items"]] == ["oC"]
    page = client.get("/api/followers", headers=an, params={"limit": 2}).json()
    assert page["next_after_id"] == ids["oB"]
    one = client.get(f"/api/followers/{ids['oA']}", headers=an).json()
    assert [t["name"] for t in one["subscriptions"]] == ["科技创新"]
    assert [e["name"] for e in one["bound_enterprises"]] == ["E1", "E3"]
    assert all(code(1) != e["credit_code_masked"] for e in one["bound_enterprises"])
    assert client.get("/api/followers/999", headers=an).status_code == 404
    assert client.get("/api/followers", headers=an, params={"state": "gone"}).status_code == 422


def test_wechat_tag_routes(client, staff, redis_client):
    assert client.get("/api/wechat-tags", headers=staff["analyst"]).json() == []
    r = client.post("/api/wechat-tags/sync", headers=staff["editor"])
    assert r.status_code == 202 and r.json() == {"queued": True, "last_report": None}
    assert redis_client.llen("celery") == 1  # queued for a worker (tests/subscriptions/test_tags.py runs one)
    with session_scope() as s:
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "wechat_tags.sync")).one()


def test_export_writes_a_follower_planted_formula_as_text_and_survives_control_characters(client, staff, api_world):
    with session_scope() as s:  # as the 绑定企业 dialog registers it, and a row stored before input was checked
        service.create_enterprise(session=s, code=code(7), name="=HYPERLINK(\"http://x\",\"点此领取补贴\")",
                                  industry_code="65", park_id=None)
        service.create_enterprise(session=s, code=code(8), name="旧数据\x0b有限公司", industry_code="65",
                                  park_id=None)
    r = client.get("/api/enterprises/export", headers=staff["editor"])
    assert r.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows())
    names = {row[0].value: row[1] for row in rows[1:]}
    assert names[code(7)].value.startswith("=HYPERLINK") and names[code(7)].data_type == "s"
    assert names[code(8)].value == "旧数据有限公司"


def test_control_characters_are_refused_at_input(client, staff, api_world):
    r = client.post("/api/enterprises", headers=staff["editor"], json={"credit_code": code(9), "name": "甲\x07乙"})
    assert r.status_code == 422 and "控制字符" in r.text and "name" in r.text
    r = client.post("/api/parks", headers=staff["editor"], json={"name": "园区\x00"})
    assert r.status_code == 422 and "控制字符" in r.text
    assert client.post("/api/enterprises", headers=staff["editor"],
                       json={"credit_code": code(9), "name": "甲乙\n有限公司"}).status_code == 201


def test_import_refuses_cells_with_control_characters(client, staff, api_world, tmp_path):
    bad = [code(3), "某\x01公司", "37", "", "", "", "", ""]
    r = upload(client, staff["editor"], "e.csv", write_csv(tmp_path / "e.csv", [GOOD, bad]).read_bytes())
    errors = finished(client, staff["editor"], r)["report"]["errors"]
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [(3, "企业名称", "control_character")]
    assert "控制字符" in errors[0]["reason"]
