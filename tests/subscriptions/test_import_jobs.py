"""Import jobs with a real Celery worker: the upload answers 202 at once, the job shows its progress, and a
worker killed mid-import stores nothing until the job, run again by the scheduler's recovery, stores it all."""
from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.settings import get_settings
from staff import import_jobs
from staff.models import AuditEntry, ImportJob
from subscriptions.models import Enterprise
from tests import live
from tests.subscriptions.enterprise_files import code, write_csv

ROWS = 30_000


@pytest.fixture
def quick_recovery(app_env, monkeypatch):
    """Jobs nobody advanced for 2 s count as abandoned (default two minutes), here and in the worker."""
    monkeypatch.setenv("IMPORT_STALE_SECONDS", "2")
    get_settings.cache_clear()
    return {**app_env, "IMPORT_STALE_SECONDS": "2"}


def enterprises() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Enterprise))


def upload_list(client, headers, tmp_path) -> str:
    rows = [[code(n), f"企业{n}", "13", None, None, None, None, None] for n in range(1, ROWS + 1)]
    data = write_csv(tmp_path / "e.csv", rows).read_bytes()
    r = client.post("/api/enterprises/import", headers=headers, files={"file": ("企业名单.csv", data)})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    return r.headers["Location"]


def wait_for(client, headers, url: str, done, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if done(job):
            return job
        time.sleep(0.05)
    raise TimeoutError(job)


def test_the_worker_imports_the_upload_showing_its_progress(client, staff, api_world, quick_recovery, tmp_path):
    editor = staff["editor"]
    with live.worker(quick_recovery, concurrency=1):  # up first: the whole import can take less than its start
        url = upload_list(client, editor, tmp_path)
        running = wait_for(client, editor, url, lambda j: j["status"] == "running" and j["rows_done"] > 0)
        assert 0 < running["rows_done"] < ROWS and running["report"] is None
        job = wait_for(client, editor, url, lambda j: j["status"] in ("done", "refused", "failed"))
    assert job["status"] == "done" and job["rows_done"] == job["rows_total"] == ROWS, job
    assert job["report"]["created"] == ROWS and job["finished_at"]
    assert enterprises() == ROWS
    with session_scope() as s:
        assert s.scalar(select(ImportJob.data)) is None  # the upload is not kept once imported
        [detail] = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "enterprise.import"))
        assert (detail["filename"], detail["created"]) == ("企业名单.csv", ROWS)
    assert client.get(url, headers=staff["analyst"]).status_code == 403
    assert client.get("/api/imports/999999", headers=editor).status_code == 404


def test_a_worker_killed_mid_import_stores_nothing_and_the_job_runs_again(client, staff, api_world,
                                                                          quick_recovery, tmp_path):
    editor = staff["editor"]
    url = upload_list(client, editor, tmp_path)
    worker = live.killable_worker(quick_recovery, "doomed", concurrency=1)
    try:
        wait_for(client, editor, url, lambda j: j["status"] == "running" and j["rows_done"] >= 2000)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert client.get(url, headers=editor).json()["status"] == "running"
    assert enterprises() == 0  # the import's transaction died with the worker
    assert import_jobs.recover() == 0  # the dead run's hold has not lapsed yet
    time.sleep(2.5)
    with live.worker(quick_recovery, concurrency=1, name="w2"):
        assert import_jobs.recover() == 1
        job = wait_for(client, editor, url, lambda j: j["status"] in ("done", "refused", "failed"))
    assert job["status"] == "done" and job["report"]["created"] == ROWS, job
    assert enterprises() == ROWS
    with session_scope() as s:
        assert s.scalar(select(ImportJob.attempts)) == 2


def test_an_import_runs_at_a_lower_cpu_priority_and_leaves_the_worker_at_its_own():
    seen = []
    before = os.getpriority(os.PRIO_PROCESS, 0)
    import_jobs._at_low_priority(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
    assert seen == [min(before + import_jobs.NICE, 19)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
