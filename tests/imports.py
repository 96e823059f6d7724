"""Import jobs in tests: a queued job is run by its task function in this process, as a worker runs it."""
from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from staff import import_jobs
from staff.models import ImportJob, ImportStatus


def run_queued() -> None:
    with session_scope() as s:
        ids = list(s.scalars(select(ImportJob.id).where(ImportJob.status == ImportStatus.queued)
                             .order_by(ImportJob.id)))
    for job_id in ids:
        import_jobs.run(job_id)


def finished(client, headers: dict, response) -> dict:
    """The job behind an import route's 202, once it ran: status, report or error."""
    assert response.status_code == 202, response.text
    run_queued()
    return client.get(response.headers["Location"], headers=headers).json()


def followed(client, response) -> str:
    """The console's job page for an import form's redirect, once the job ran; while queued, the page asks
    for its status every second, and once finished it stops asking."""
    assert response.status_code == 303, response.text
    job_page = response.headers["location"]
    queued = client.get(job_page).text
    assert "排队等待导入" in queued and f'hx-get="{job_page}/status"' in queued
    run_queued()
    assert "hx-get" not in client.get(f"{job_page}/status").text
    return client.get(job_page).text
