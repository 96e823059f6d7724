"""A write is committed before its response starts: a client that reads back at once finds it."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from staff.models import Role
from tests.staff.test_auth import bearer


def test_create_is_committed_when_the_response_starts(client, app_env):
    seen: list[int] = []
    reader = create_engine(app_env["DATABASE_URL"])
    app = client.app
    inner = app.middleware_stack

    async def watching(scope, receive, send):
        async def on_send(message):
            if message["type"] == "http.response.start" and scope["path"] == "/api/faq":
                with reader.connect() as conn:  # another connection sees only committed rows
                    seen.append(conn.execute(text("SELECT count(*) FROM faq_entry")).scalar_one())
            await send(message)
        await inner(scope, receive, on_send)

    headers = bearer(client, Role.editor)
    app.middleware_stack = watching
    try:
        answer = client.post("/api/faq", headers=headers,
                             json={"question": "失业金怎么领", "answer": "线上申领。"})
    finally:
        app.middleware_stack = inner
        reader.dispose()
    assert answer.status_code == 201
    assert seen == [1]
