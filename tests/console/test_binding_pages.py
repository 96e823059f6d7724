"""企业绑定核验 in the console: the queue, verify and reject by editors, read-only for analysts."""
from core.db import session_scope
from staff.models import AuditEntry, Role
from subscriptions import credit_code
from subscriptions import service as subs
from subscriptions.models import EnterpriseBinding
from tests.console.conftest import csrf_of

CODE = credit_code.complete("91211400MA0WCNX01")


def bound(openids: list[str]) -> tuple[int, list[int]]:
    with session_scope() as s:
        e = subs.create_enterprise(session=s, code=CODE, name="丙机械有限公司", self_registered=True)
        ids = []
        for openid in openids:
            f = subs.follow(session=s, openid=openid)
            subs.bind_enterprise(session=s, follower_id=f.id, enterprise_id=e.id)
            ids.append(f.id)
        return e.id, ids


def test_an_editor_verifies_and_rejects_from_the_queue(client, as_role):
    eid, (f1, f2) = bound(["oConsoleBind1", "oConsoleBind2"])
    as_role(Role.editor)
    page = client.get("/console/bindings")
    assert page.status_code == 200 and "丙机械有限公司" in page.text and "关注者自行登记" in page.text
    assert "绑定核验" in page.text  # the navigation link
    csrf = csrf_of(page.text)
    r = client.post(f"/console/bindings/{eid}/{f1}/verify", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/bindings"
    assert "已核验" in client.get("/console/bindings").text
    r = client.post(f"/console/bindings/{eid}/{f2}/reject", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "没有待核验的绑定" in client.get("/console/bindings").text
    assert client.post(f"/console/bindings/{eid}/{f2}/verify", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 404
    with session_scope() as s:
        assert s.get(EnterpriseBinding, (f1, eid)).verified_by.startswith("staff:")
        assert s.get(EnterpriseBinding, (f2, eid)) is None
        actions = {a.action for a in s.query(AuditEntry)}
    assert {"binding.verify", "binding.reject"} <= actions


def test_without_the_csrf_token_nothing_changes(client, as_role):
    eid, (f1,) = bound(["oConsoleBind3"])
    as_role(Role.editor)
    assert client.post(f"/console/bindings/{eid}/{f1}/verify", follow_redirects=False).status_code == 403
    with session_scope() as s:
        assert s.get(EnterpriseBinding, (f1, eid)).verified_at is None


def test_analysts_read_masked_and_cannot_act_and_reviewers_do_not_see_it(client, as_role):
    eid, (f1,) = bound(["oConsoleBind0000000000000004"])
    as_role(Role.analyst)
    page = client.get("/console/bindings")
    assert page.status_code == 200 and CODE not in page.text and "核验</button>" not in page.text
    assert client.post(f"/console/bindings/{eid}/{f1}/verify", data={"csrf_token": csrf_of(page.text)},
                       follow_redirects=False).status_code == 403
    as_role(Role.reviewer)
    assert client.get("/console/bindings", follow_redirects=False).status_code == 403
    assert "绑定核验" not in client.get("/console/").text
