"""Bad input anywhere is a 4xx in the documented shape, never a 500; the staff API authenticates before it
looks anything up. (Schemathesis over the whole schema: tests/test_openapi_fuzz.py.)"""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.webhooks import wx

HUGE = str(2**64)  # above SQLite's INTEGER and PostgreSQL's bigint


@pytest.fixture
def loose(client):
    """The client, answering a server error with a 500 instead of raising it into the test."""
    from server import app

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(client):
    from core.db import session_scope
    from staff import service as staff_service
    from staff.models import Role
    from staff.security import issue_token

    with session_scope() as s:
        user = staff_service.create_user(session=s, username="bad-input-admin", password="Bad-input-pass-1",
                                         role=Role.admin)
        return {"Authorization": f"Bearer {issue_token(user.id, Role.admin.value)}"}


def _is_problem(body) -> bool:
    return isinstance(body, dict) and set(body) == {"detail"}


def test_a_signature_that_is_not_ascii_is_403(loose):
    query = {**wx.signed_query(), "signature": "签名" * 20}
    assert loose.get("/wechat", params={**query, "echostr": "x"}).status_code == 403
    assert loose.post("/wechat", params=query, content=wx.message()).status_code == 403


@pytest.mark.parametrize("path", [f"/p/{HUGE}", f"/faq/{HUGE}", f"/notice/{HUGE}", f"/p/{2**40}"])
def test_public_pages_refuse_ids_no_row_can_have(loose, path):
    response = loose.get(path)
    assert response.status_code == 422 and _is_problem(response.json())


@pytest.mark.parametrize("path", [
    f"/api/policies/{HUGE}", f"/api/faq/{HUGE}", f"/api/questions/{HUGE}", f"/api/campaigns/{HUGE}",
    f"/api/parks/{HUGE}", f"/api/enterprises/{HUGE}", f"/api/segments/{HUGE}", f"/api/followers/{HUGE}",
    f"/api/campaigns?before_id={HUGE}", f"/api/followers?after_id={HUGE}", f"/api/enterprises?park_id={HUGE}",
    f"/api/faq?offset={HUGE}", f"/api/audit?before_id={HUGE}"])
def test_api_refuses_ids_no_row_can_have(loose, admin, path):
    response = loose.get(path, headers=admin)
    assert response.status_code == 422 and _is_problem(response.json())


@pytest.mark.parametrize("create, patch", [
    (("/api/topics", {"name": "空值话题"}), {"name": None}),
    (("/api/topics", {"name": "空值话题"}), {"active": None}),
    (("/api/enterprise-tags", {"name": "空值标签"}), {"active": None}),
    (("/api/parks", {"name": "空值园区"}), {"name": None}),
    (("/api/segments", {"name": "空值分组", "filter": {"sizes": ["大"]}}), {"name": None}),
    (("/api/policies", {"title": "空值政策"}), {"body": None}),
    (("/api/faq", {"question": "空值问题", "answer": "答"}), {"category": None}),
])
def test_null_for_a_field_that_needs_a_value_is_422_and_changes_nothing(loose, admin, create, patch):
    path, body = create
    made = loose.post(path, json=body, headers=admin)
    assert made.status_code == 201, made.text
    url = f"{path}/{made.json()['id']}"
    before = loose.get(url, headers=admin).json() if not path.endswith(("topics", "enterprise-tags")) else None
    response = loose.patch(url, json=patch, headers=admin)
    assert response.status_code == 422, response.text
    (field,) = patch
    assert response.json()["detail"][0]["loc"] == ["body", field]
    if before is not None:
        assert loose.get(url, headers=admin).json() == before


def test_a_fields_null_is_still_a_way_to_clear_what_may_be_empty(loose, admin):
    made = loose.post("/api/parks", json={"name": "清空园区", "qr_scene": "clear-me"}, headers=admin).json()
    response = loose.patch(f"/api/parks/{made['id']}", json={"qr_scene": None}, headers=admin)
    assert response.status_code == 200 and response.json()["qr_scene"] is None


def test_a_qr_scene_taken_by_hand_is_409_when_another_park_would_get_it(loose, admin):
    first = loose.post("/api/parks", json={"name": "甲园区"}, headers=admin).json()
    # the second park takes by hand the scene the first would be given
    loose.post("/api/parks", json={"name": "乙园区", "qr_scene": f"park-{first['id']}"}, headers=admin)
    response = loose.post(f"/api/parks/{first['id']}/qrcode", headers=admin)
    assert response.status_code == 409 and "已被其他园区使用" in response.json()["detail"]
    assert loose.get(f"/api/parks/{first['id']}", headers=admin).json()["qr_scene"] is None


def test_blank_qr_scenes_do_not_collide(loose, admin):
    for name in ("空场景一", "空场景二"):
        response = loose.post("/api/parks", json={"name": name, "qr_scene": " "}, headers=admin)
        assert response.status_code == 201 and response.json()["qr_scene"] is None


def _id_routes():
    from server import app

    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/") and "{" in path:
            for method in operations:
                yield method.upper(), re.sub(r"\{[^}]+\}", "999999", path)


@pytest.mark.parametrize("method, path", list(_id_routes()))
def test_every_lookup_answers_401_before_404(loose, method, path):
    response = loose.request(method, path)
    assert response.status_code == 401, (method, path, response.status_code)


def test_every_staff_route_documents_its_refusals_in_one_shape(client):
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            for code in ("401", "404", "422"):
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, (method, path, code)


@pytest.mark.parametrize("path", ["/api/policies?q=a%00b", "/api/faq?q=%00", "/api/faq?category=%1b",
                                  "/api/enterprises?q=%00", "/api/enterprises?industry=%00",
                                  "/api/enterprises?size=%00"])
def test_a_control_character_in_a_query_is_422_not_a_database_error(loose, admin, path):
    response = loose.get(path, headers=admin)
    assert response.status_code == 422 and _is_problem(response.json()), response.text
    assert "控制字符" in response.json()["detail"][0]["msg"]


def _sent_by_a_client_that_leaves(path: str, query: str = "") -> tuple[list[dict], list[str]]:
    """Drive the app as uvicorn does for a client that sends half its body and goes away: what the app
    sent back, and the error lines it logged."""
    import asyncio
    import logging

    from server import app

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"testserver"), (b"content-length", b"400"),
                         (b"content-type", b"application/x-www-form-urlencoded")]}
    parts = iter([{"type": "http.request", "body": b"c1=%E8%9E%8D", "more_body": True}])

    async def receive():
        return next(parts, {"type": "http.disconnect"})

    sent, errors = [], []

    async def send(message):
        sent.append(message)

    class Errors(logging.Handler):
        def emit(self, record):
            errors.append(record.getMessage())

    handler = Errors(logging.ERROR)
    logging.getLogger().addHandler(handler)
    try:
        asyncio.run(app(scope, receive, send))  # raises what would reach uvicorn as an application error
    finally:
        logging.getLogger().removeHandler(handler)
    return sent, errors


def test_a_client_that_leaves_while_sending_a_form_is_no_server_error(client):
    sent, errors = _sent_by_a_client_that_leaves("/s/" + "a" * 32)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [400] and errors == []


def test_a_client_that_leaves_while_sending_a_message_is_no_server_error(client):
    from urllib.parse import urlencode

    sent, errors = _sent_by_a_client_that_leaves("/wechat", urlencode(wx.signed_query()))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [400] and errors == []


def test_a_web_authorisation_state_no_survey_can_have_is_404(loose):
    assert loose.get("/survey/authorized", params={"code": "c", "state": "99999999999"}).status_code == 404
