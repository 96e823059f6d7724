"""Binding verification: the staff queue, verify and reject (audited), and segments of verified bindings."""
from alembic import command
from sqlalchemy import text

from core import migrate
from core.db import make_engine, session_scope, utcnow
from subscriptions import credit_code, segments, verification
from subscriptions import service as subs
from subscriptions.models import EnterpriseBinding
from subscriptions.schemas import ParkCreate

CODES = [credit_code.complete(f"91211400MA0W{n:05d}") for n in range(3)]


def world() -> dict:
    """E0 (staff's, with a contact phone) bound by F0 and F1; E1 registered by F2 in the chat; a park
    scanned by F3 alone. Returns ids by name."""
    with session_scope() as s:
        park = subs.create_park(session=s, park_in=ParkCreate(name="高新区", qr_scene="park-gx"))
        e0 = subs.create_enterprise(session=s, code=CODES[0], name="甲科技有限公司", industry_code="65",
                                    park_id=park.id)
        e0.contact_phone = "13912345678"
        e1 = subs.create_enterprise(session=s, code=CODES[1], name="乙贸易有限公司", industry_code="65",
                                    park_id=park.id, self_registered=True)
        ids = {"park": park.id, "E0": e0.id, "E1": e1.id}
        for name in ("F0", "F1", "F2", "F3"):
            ids[name] = subs.follow(session=s, openid=f"oVerifyQueue{name}", qr_scene="park-gx" if name == "F3" else None).id
        for f, e in (("F0", "E0"), ("F1", "E0"), ("F2", "E1")):
            subs.bind_enterprise(session=s, follower_id=ids[f], enterprise_id=ids[e])
    return ids


def queue(client, headers, **params):
    r = client.get("/api/enterprise-bindings", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_queue_lists_unverified_bindings_with_filters_and_keyset_paging(client, staff):
    ids = world()
    page = queue(client, staff["editor"], limit=2)
    assert [(b["enterprise_id"], b["follower_id"]) for b in page["items"]] == [(ids["E0"], ids["F0"]),
                                                                                (ids["E0"], ids["F1"])]
    assert page["items"][0]["contact_on_record"] and page["items"][0]["enterprise_verified"]
    rest = queue(client, staff["editor"], limit=2, after_enterprise_id=page["next_after_enterprise_id"],
                 after_follower_id=page["next_after_follower_id"])
    assert [(b["enterprise_id"], b["follower_id"]) for b in rest["items"]] == [(ids["E1"], ids["F2"])]
    assert rest["next_after_enterprise_id"] is None
    assert [b["follower_id"] for b in queue(client, staff["editor"], self_registered=True)["items"]] == [ids["F2"]]
    assert [b["follower_id"] for b in queue(client, staff["editor"], q="乙贸易")["items"]] == [ids["F2"]]
    assert len(queue(client, staff["editor"], q=CODES[0])["items"]) == 2
    assert len(queue(client, staff["editor"], park_id=ids["park"])["items"]) == 3
    assert queue(client, staff["editor"], status="verified")["items"] == []
    masked = queue(client, staff["analyst"])["items"][0]
    assert "*" in masked["openid"] and "*" in masked["credit_code"]
    assert client.get("/api/enterprise-bindings", headers=staff["editor"],
                      params={"status": "maybe"}).status_code == 422


def test_staff_verify_a_binding_and_the_enterprise_a_follower_registered_audited(client, staff):
    ids = world()
    path = f"/api/enterprises/{ids['E1']}/bindings/{ids['F2']}/verify"
    assert client.post(path, headers=staff["analyst"]).status_code == 403
    r = client.post(path, headers=staff["editor"])
    assert r.status_code == 200, r.text
    assert r.json()["verified"] and r.json()["enterprise_verified"] and r.json()["verified_by"] == "staff:s-editor"
    again = client.post(path, headers=staff["editor"])
    assert again.status_code == 409 and "已核验" in again.json()["detail"]
    assert client.post(f"/api/enterprises/{ids['E0']}/bindings/{ids['F2']}/verify",
                       headers=staff["editor"]).status_code == 404
    assert [b["follower_id"] for b in queue(client, staff["editor"], status="verified")["items"]] == [ids["F2"]]
    assert ids["F2"] not in [b["follower_id"] for b in queue(client, staff["editor"])["items"]]
    audit = client.get("/api/audit", headers=staff["admin"]).json()
    assert any(e["action"] == "binding.verify" and e["target"] == f"enterprise:{ids['E1']}" for e in audit)


def test_staff_reject_a_binding_and_confirm_an_enterprise(client, staff):
    ids = world()
    assert client.delete(f"/api/enterprises/{ids['E0']}/bindings/{ids['F1']}", headers=staff["editor"]).status_code == 204
    assert client.delete(f"/api/enterprises/{ids['E0']}/bindings/{ids['F1']}", headers=staff["editor"]).status_code == 404
    assert len(queue(client, staff["editor"], enterprise_id=ids["E0"])["items"]) == 1
    r = client.post(f"/api/enterprises/{ids['E1']}/verify", headers=staff["editor"])
    assert r.status_code == 200 and r.json()["verified_at"]
    assert client.post(f"/api/enterprises/{ids['E1']}/verify", headers=staff["editor"]).status_code == 409
    actions = [e["action"] for e in client.get("/api/audit", headers=staff["admin"]).json()]
    assert "binding.reject" in actions and "enterprise.verify" in actions


def test_a_verified_segment_reaches_verified_bindings_of_verified_enterprises_only(client):
    ids = world()

    def reached(**filter) -> set[int]:
        with session_scope() as s:
            return {r.follower_id for r in segments.iter_recipients(session=s, filter=filter)}

    assert reached(industries=["I"]) == {ids["F0"], ids["F1"], ids["F2"]}
    assert reached(parks=[ids["park"]]) == {ids["F0"], ids["F1"], ids["F2"], ids["F3"]}
    assert reached(industries=["I"], verified=True) == set()
    with session_scope() as s:
        verification.verify_binding(session=s, follower_id=ids["F0"], enterprise_id=ids["E0"], by="contact")
        # the contact check verifies the binding, but a follower's own registration still needs staff
        s.add(EnterpriseBinding(follower_id=ids["F3"], enterprise_id=ids["E1"], verified_at=utcnow(),
                                verified_by="contact"))
    assert reached(industries=["I"], verified=True) == {ids["F0"]}
    assert reached(parks=[ids["park"]], verified=True) == {ids["F0"]}  # a park scan is no verified binding
    assert reached(verified=True) == {ids["F0"]}
    with session_scope() as s:
        assert segments.preview(session=s, filter={"verified": True}).enterprises == 1


def test_the_migration_keeps_staff_enterprises_verified_and_leaves_bindings_unverified(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text("INSERT INTO follower (id, openid, state, followed_at, muted) "
                          "VALUES (1, 'oMig1', 'following', '2026-01-01 00:00:00', false)"))
        conn.execute(text("INSERT INTO enterprise (id, credit_code, name, created_at, updated_at) VALUES "
                          f"(1, '{CODES[0]}', '导入的', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), "
                          f"(2, '{CODES[1]}', '聊天登记的', '2026-02-01 00:00:00', '2026-02-01 00:00:00')"))
        conn.execute(text("INSERT INTO enterprise_binding (follower_id, enterprise_id, bound_at) VALUES "
                          "(1, 1, '2026-01-20 00:00:00'), (1, 2, '2026-02-01 00:00:00.5')"))
        command.upgrade(cfg, "head")
        verified = dict(conn.execute(text("SELECT id, verified_at IS NOT NULL FROM enterprise")).all())
        bindings = conn.execute(text("SELECT count(*) FROM enterprise_binding WHERE verified_at IS NULL")).scalar()
    engine.dispose()
    assert {k: bool(v) for k, v in verified.items()} == {1: True, 2: False}
    assert bindings == 2


def test_every_route_refuses_anonymous_reviewers_and_lets_analysts_read_only(client, staff):
    from subscriptions import verification_api

    for route in verification_api.router.routes:
        path = route.path.format(**{p: 1 for p in route.param_convertors})
        for method in route.methods:
            assert client.request(method, path).status_code == 401, (method, path)
            assert client.request(method, path, headers=staff["reviewer"]).status_code == 403, (method, path)
            analyst = client.request(method, path, headers=staff["analyst"]).status_code
            assert (analyst == 200) if method == "GET" else (analyst == 403), (method, path)
