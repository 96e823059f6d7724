import io
import json

import openpyxl
import pytest

from core.db import session_scope
from policies.seed import FAQ
from staff.models import AuditEntry, Role
from tests.policies.conftest import FULL
from tests.staff.test_auth import bearer
from tests.imports import finished

POLICY = {"title": "稳岗返还政策", "doc_number": "葫人社发〔2024〕1号", "issuer": "市人社局",
          "issued_on": "2024-07-01", "industries": ["C"], "body": "正文"}


@pytest.fixture
def editor(client):
    return bearer(client, Role.editor)


@pytest.fixture
def analyst(client):
    return bearer(client, Role.analyst)


WRITES = [("POST", "/api/policies", POLICY), ("PATCH", "/api/policies/1", {"title": "x"}),
          ("DELETE", "/api/policies/1", None), ("PUT", "/api/policies/1/interpretation", {"goals": "x"}),
          ("POST", "/api/faq", {"question": "q", "answer": "a"}), ("PATCH", "/api/faq/1", {"answer": "b"}),
          ("DELETE", "/api/faq/1", None)]
READS = ["/api/policies", "/api/policies/1", "/api/policies/1/history", "/api/policies/1/completeness",
         "/api/faq", "/api/faq/1", "/api/faq/export"]


def test_anonymous_is_401_and_analyst_cannot_write(client, editor, analyst):
    assert client.post("/api/policies", headers=editor, json=POLICY).status_code == 201
    assert client.post("/api/faq", headers=editor, json={"question": "q", "answer": "a"}).status_code == 201
    for method, path, body in WRITES:
        assert client.request(method, path, json=body).status_code == 401, path
        assert client.request(method, path, json=body, headers=analyst).status_code == 403, path
    for path in ("/api/policies/import", "/api/faq/import"):
        files = {"file": ("f.csv", b"x")}
        assert client.post(path, files=files).status_code == 401
        assert client.post(path, files=files, headers=analyst).status_code == 403
    for path in READS:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=analyst).status_code == 200, path


def test_policy_lifecycle_through_the_api(client, editor, analyst):
    r = client.post("/api/policies", headers=editor, json=POLICY)
    assert r.status_code == 201, r.text
    policy = r.json()
    assert (policy["status"], policy["status_label"], policy["interpretation"]) == ("in_force", "现行有效", None)
    assert policy["completeness"] == {"complete": False, "missing": list(FULL_LABELS)}
    pid = policy["id"]
    assert client.get(f"/api/policies/{pid}/interpretation", headers=analyst).status_code == 404
    r = client.put(f"/api/policies/{pid}/interpretation", headers=editor, json={**FULL, "changes": ""})
    assert r.status_code == 200 and r.json()["goals"] == "目标"
    assert client.get(f"/api/policies/{pid}/completeness", headers=analyst).json() == {
        "complete": False, "missing": ["新旧政策差异"]}
    client.put(f"/api/policies/{pid}/interpretation", headers=editor, json={"changes": "新增政策"})
    assert client.get(f"/api/policies/{pid}/completeness", headers=analyst).json()["complete"] is True
    r = client.patch(f"/api/policies/{pid}", headers=editor, json={"title": "稳岗返还（修订）"})
    assert r.status_code == 200 and r.json()["title"] == "稳岗返还（修订）"
    history = client.get(f"/api/policies/{pid}/history", headers=analyst).json()
    assert [h["action"] for h in history] == ["policy.update", "interpretation.update", "interpretation.update",
                                              "policy.create"]
    assert history[0]["changes"] == {"title": ["稳岗返还政策", "稳岗返还（修订）"]} and history[0]["actor_id"]
    listed = client.get("/api/policies", headers=analyst, params={"q": "稳岗", "status": "in_force"})
    assert [p["id"] for p in listed.json()] == [pid] and listed.headers["X-Total-Count"] == "1"
    with session_scope() as session:
        actions = [a.action for a in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert {"policy.create", "interpretation.update", "policy.update"} <= set(actions)
    assert client.delete(f"/api/policies/{pid}", headers=editor).status_code == 204
    assert client.get(f"/api/policies/{pid}", headers=analyst).status_code == 404


FULL_LABELS = ["背景依据", "目标任务", "主要内容", "关键词", "涉及范围", "执行标准", "惠民利企举措", "新旧政策差异"]


def test_policy_errors(client, editor):
    assert client.post("/api/policies", headers=editor, json=POLICY).status_code == 201
    assert client.post("/api/policies", headers=editor, json=POLICY).status_code == 409
    assert client.post("/api/policies", headers=editor, json={**POLICY, "doc_number": "2",
                                                              "industries": ["Z9"]}).status_code == 422
    assert client.post("/api/policies", headers=editor, json={**POLICY, "unknown": 1}).status_code == 422
    assert client.patch("/api/policies/999", headers=editor, json={"title": "x"}).status_code == 404
    r = client.patch("/api/policies/1", headers=editor, json={"status": "revised"})
    assert r.status_code == 409 and "修订后的政策" in r.json()["detail"]
    assert client.put("/api/policies/1/interpretation", headers=editor, json={}).status_code == 422


def test_revised_policy_through_the_api(client, editor):
    old = client.post("/api/policies", headers=editor, json=POLICY).json()
    new = client.post("/api/policies", headers=editor, json={**POLICY, "doc_number": "2", "title": "新"}).json()
    r = client.patch(f"/api/policies/{old['id']}", headers=editor, json={"superseded_by_id": new["id"]})
    assert (r.json()["status"], r.json()["superseded_by_id"]) == ("revised", new["id"])


def test_faq_through_the_api(client, editor, analyst):
    body = {"external_id": "k1", "category": "社会保险", "question": "失业金怎么领", "answer": "去申领",
            "similar": ["失业保险金怎么领"]}
    r = client.post("/api/faq", headers=editor, json=body)
    assert r.status_code == 201 and r.json()["similar"] == ["失业保险金怎么领"]
    eid = r.json()["id"]
    assert client.post("/api/faq", headers=editor, json=body).status_code == 409
    assert client.post("/api/faq", headers=editor, json={"question": "q", "answer": ""}).status_code == 422
    r = client.patch(f"/api/faq/{eid}", headers=editor, json={"answer": "线上申领"})
    assert r.json()["answer"] == "线上申领"
    found = client.get("/api/faq", headers=analyst, params={"q": "失业", "category": "社会保险"})
    assert [e["id"] for e in found.json()] == [eid]
    assert client.get("/api/faq/999", headers=analyst).status_code == 404
    assert client.delete(f"/api/faq/{eid}", headers=editor).status_code == 204
    assert client.get(f"/api/faq/{eid}", headers=analyst).status_code == 404


def test_faq_import_upload_and_export_download(client, editor, analyst):
    r = client.post("/api/faq/import", headers=editor, files={"file": ("faq-kb.csv", FAQ.read_bytes(), "text/csv")})
    report = finished(client, editor, r)["report"]
    assert (report["created"], report["errors"]) == (215, [])
    bad = client.post("/api/faq/import", headers=editor,
                      files={"file": ("f.csv", "问题,答案,别的\n有问,\n".encode(), "text/csv")})
    bad = finished(client, editor, bad)
    assert bad["status"] == "done" and bad["report"]["errors"][0] == {
        "row": 2, "column": "答案", "code": "missing_required", "reason": "“答案”不能为空"}
    assert bad["report"]["unknown_columns"] == ["别的"]
    unusable = client.post("/api/faq/import", headers=editor, files={"file": ("f.doc", b"x")})
    assert unusable.status_code == 422
    r = client.get("/api/faq/export", headers=analyst)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.values)
    assert len(rows) == 216 and rows[1][0] == "kb001"


def test_policy_import_upload(client, editor, analyst):
    data = json.dumps([{"标题": "甲", "文号": "P1", **FULL}]).encode()
    r = client.post("/api/policies/import", headers=editor, files={"file": ("p.json", data)})
    assert finished(client, editor, r)["report"]["created"] == 1
    [p] = client.get("/api/policies", headers=analyst).json()
    history = client.get(f"/api/policies/{p['id']}/history", headers=analyst).json()
    assert {h["via"] for h in history} == {"import"} and all(h["actor_id"] for h in history)
    cycle = json.dumps([{"标题": "甲", "文号": "P1", "修订后文号": "P2"},
                        {"标题": "乙", "文号": "P2", "修订后文号": "P1"}]).encode()
    r = client.post("/api/policies/import", headers=editor, files={"file": ("p.json", cycle)})
    job = finished(client, editor, r)
    assert job["status"] == "refused" and "成环" in job["error"]
    assert len(client.get("/api/policies", headers=analyst).json()) == 1  # rolled back
