"""The audit log through the API: actor names, filters by actor, action, object and time, keyset pages,
and the refusals it keeps (a role check on a state-changing route, a refused approval)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from core.db import session_scope
from staff import service
from staff.models import AuditEntry, Role, StaffUser
from staff.security import issue_token


def headers_of(role: Role, username: str) -> tuple[int, dict]:
    with session_scope() as s:
        user = service.create_user(session=s, username=username, password="Audit-pass-2024", role=role)
        return user.id, {"Authorization": f"Bearer {issue_token(user.id, role.value)}"}


def log(client, headers, **params) -> list[dict]:
    answer = client.get("/api/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_entries_name_their_actor_and_filter_by_actor_action_object_and_time(client):
    _, admin = headers_of(Role.admin, "chief")
    ed_id, _ = headers_of(Role.editor, "wang")
    with session_scope() as s:
        ed = s.get(StaffUser, ed_id)
        for n in range(3):
            service.audit(session=s, actor=None if n == 2 else ed, action="campaign.update", target=f"campaign:{n + 1}")
        service.audit(session=s, actor=None, action="campaign_x.update", target="campaign_x:1")
        service.audit(session=s, actor=None, action="policy.update", target="policy:1")
        s.execute(update(AuditEntry).where(AuditEntry.target == "campaign:1")
                  .values(at=datetime(2024, 5, 1, 1, 0, tzinfo=UTC)))
    by_wang = log(client, admin, actor_id=ed_id)
    assert [e["target"] for e in by_wang] == ["campaign:2", "campaign:1"] and {e["actor"] for e in by_wang} == {"wang"}
    assert log(client, admin, action="campaign.update", object_type="campaign", object_id=3)[0]["actor"] is None
    assert {e["target"] for e in log(client, admin, action="campaign")} == {"campaign:1", "campaign:2", "campaign:3"}
    assert {e["target"] for e in log(client, admin, object_type="campaign")} == {"campaign:1", "campaign:2", "campaign:3"}
    may = log(client, admin, since="2024-05-01T08:00:00+08:00", until="2024-05-01T09:30:00+08:00")
    assert [e["target"] for e in may] == ["campaign:1"]
    assert log(client, admin, until="2024-05-01T09:00:00+08:00") == []  # until is exclusive


def test_the_log_pages_by_id_newest_first(client):
    _, admin = headers_of(Role.admin, "chief")
    with session_scope() as s:
        for n in range(7):
            service.audit(session=s, actor=None, action="policy.update", target=f"policy:{n}")
    first = log(client, admin, action="policy.update", limit=3)
    second = log(client, admin, action="policy.update", limit=3, before_id=first[-1]["id"])
    rest = log(client, admin, action="policy.update", limit=3, before_id=second[-1]["id"])
    ids = [e["id"] for e in first + second + rest]
    assert len(ids) == 7 and ids == sorted(ids, reverse=True)


def test_bad_filters_are_a_422(client):
    _, admin = headers_of(Role.admin, "chief")
    for params in ({"object_id": 3}, {"since": "2024-05-01T08:00:00"}, {"action": "drop table"},
                   {"actor_id": 2**40}, {"limit": 0}, {"until": "昨天"}):
        assert client.get("/api/audit", params=params, headers=admin).status_code == 422, params


def test_a_role_check_refusing_a_change_is_recorded_and_a_refused_read_is_not(client):
    _, admin = headers_of(Role.admin, "chief")
    analyst_id, analyst = headers_of(Role.analyst, "li")
    assert client.post("/api/campaigns", json={"title": "x", "kind": "notice", "notice_text": "y"},
                       headers=analyst).status_code == 403
    assert client.get("/api/audit", headers=analyst).status_code == 403
    [entry] = log(client, admin, refused=True)
    assert entry["action"] == "role.refused" and entry["actor"] == "li" and entry["actor_id"] == analyst_id
    assert entry["detail"]["method"] == "POST" and entry["detail"]["path"] == "/api/campaigns"
    assert entry["detail"]["role"] == "analyst"
    assert log(client, admin, action="role.refused", actor_id=analyst_id) == [entry]


def test_a_naive_time_filter_is_refused_not_guessed(client):
    _, admin = headers_of(Role.admin, "chief")
    since = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert client.get("/api/audit", params={"since": since}, headers=admin).status_code == 422
