from datetime import date

from core.db import session_scope
from policies import service, tasks
from policies.models import PolicyStatus
from policies.schemas import PolicyCreate


def test_refresh_status_task_moves_policies_as_of_a_given_day(app_env):
    with session_scope() as session:
        policy = service.create_policy(session=session, on=date(2024, 8, 1), policy_in=PolicyCreate(
            title="办法", doc_number="T1", issued_on=date(2024, 7, 1), expires_on=date(2024, 12, 31)))
        pid = policy.id
    assert tasks.refresh_status.run(on="2024-12-31") == 0
    assert tasks.refresh_status.run(on="2025-01-01") == 1
    assert tasks.refresh_status.run(on="2025-01-01") == 0  # safe to run twice
    with session_scope() as session:
        assert service.get_policy(session=session, policy_id=pid).status is PolicyStatus.expired
    assert tasks.refresh_status.run() == 0  # today: still expired


def test_the_task_is_scheduled():
    import worker

    assert "policies.tasks" in worker.app.conf.include
    assert any(e["task"] == "policies.refresh_status" for e in worker.app.conf.beat_schedule.values())
