"""Staff imports as worker jobs: the web process saves the upload and answers at once; a worker reads it,
stores what it holds and writes the report, and staff follow its progress.

A hostile file cannot take the web server down or slow the webhook: the server only checks the upload's
size and declared dimensions. The import and the job's report are committed in one transaction, so a worker
that dies mid-import stores nothing; `recover` (beat, every minute) runs such a job again.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import sheet_limits, tabular
from core.db import session_scope, utcnow
from core.imports import ImportReport
from core.queue import celery_app
from core.redis import get_redis
from core.settings import Settings, get_settings
from policies import faq_import, policy_import
from policies.service import PolicyError
from staff.models import ImportJob, ImportStatus, StaffUser
from staff.service import audit
from subscriptions import importer

log = logging.getLogger(__name__)
LOCK_KEY = "imports:lock:{}"  # held by the run importing the job, refreshed as it goes
PROGRESS_KEY = "imports:progress:{}"  # {"done": rows read, "total": rows in all or null}
NICE = 10
FINISHED = (ImportStatus.done, ImportStatus.refused, ImportStatus.failed)
Importer = Callable[[Session, Path, str, int | None, Callable[[int, int | None], None]], ImportReport]


@dataclass(frozen=True)
class Kind:
    formats: tuple[str, ...]
    columns: list[str]  # the headers an import knows, in a template's order
    required: list[str]
    atomic: bool  # one bad row and nothing of the file is written
    max_rows: Callable[[Settings], int]
    action: str  # in the audit log
    run: Importer


KINDS = {
    "enterprises": Kind(importer.FORMATS, list(importer.COLUMNS), [importer.HEADER[f] for f in importer.REQUIRED],
                        False, lambda s: s.import_max_rows_enterprises, "enterprise.import",
                        lambda session, path, fmt, _actor, progress: importer.import_enterprises(
                            session=session, path_or_file=path, fmt=fmt, progress=progress)),
    "faq": Kind(faq_import.FORMATS, list(faq_import.COLUMNS), [faq_import.HEADER[f] for f in faq_import.REQUIRED],
                True, lambda s: s.import_max_rows_faq, "faq.import",
                lambda session, path, fmt, _actor, progress: faq_import.import_faq(
                    session=session, path=path, fmt=fmt, progress=progress)),
    "policies": Kind(policy_import.FORMATS, list(policy_import.COLUMNS),
                     [policy_import.HEADER[f] for f in policy_import.REQUIRED],
                     True, lambda s: s.import_max_rows_policies, "policy.import",
                     lambda session, path, fmt, actor, progress: policy_import.import_policies(
                         session=session, path=path, fmt=fmt, actor_id=actor, via="import", progress=progress)),
}


def submit(*, session: Session, kind: str, path: Path, fmt: str, filename: str, actor: StaffUser) -> ImportJob:
    """Queue the saved upload at `path` (within IMPORT_MAX_MB) for import, once it passed the limits that
    need no parsing. Raises tabular.FileError for a file refused by those; commits, so the worker finds it."""
    if fmt == "xlsx":
        sheet_limits.check_xlsx(path, max_rows=KINDS[kind].max_rows(get_settings()))
    job = ImportJob(kind=kind, filename=filename[:255], fmt=fmt, actor_id=actor.id, data=path.read_bytes())
    session.add(job)
    session.commit()
    run.delay(job.id)
    return job


def progress(job_id: int) -> tuple[int, int | None]:
    """Rows read so far and rows in all (None until known) of a running job."""
    try:
        raw = get_redis().get(PROGRESS_KEY.format(job_id))
    except RedisError:
        raw = None
    value = json.loads(raw) if raw else {}
    return value.get("done", 0), value.get("total")


def report(job: ImportJob) -> ImportReport | None:
    return None if job.report is None else ImportReport.model_validate(job.report)


@celery_app.task(name="imports.run")
def run(job_id: int) -> None:
    """Import the job's file unless it is finished or another run holds it."""
    redis = get_redis()
    if not redis.set(LOCK_KEY.format(job_id), "1", nx=True, ex=get_settings().import_stale_seconds):
        return
    try:
        with session_scope() as session:
            job = session.get(ImportJob, job_id)
            if job is None or job.status in FINISHED:
                return
            job.status, job.started_at, job.attempts = ImportStatus.running, utcnow(), job.attempts + 1
            kind, fmt, actor_id, filename, data = job.kind, job.fmt, job.actor_id, job.filename, job.data
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as copy:
            copy.write(data or b"")
            copy.flush()
            del data
            _at_low_priority(lambda: _import(job_id, kind, Path(copy.name), fmt, actor_id, filename))
    finally:
        redis.delete(LOCK_KEY.format(job_id))


def _at_low_priority(work: Callable[[], None]) -> None:
    """Run `work` in a thread of its own at a lower CPU priority (nice +NICE), and wait for it. On Linux a
    thread's nice value is its own and the sheet reader it starts inherits it, so a long import leaves the
    CPU to the webhook and the pushes first, and the worker process keeps its priority for its next task."""
    def lowered() -> None:
        if sys.platform == "linux":
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + NICE)
        work()

    thread = threading.Thread(target=lowered, name="import")
    thread.start()
    thread.join()


def _import(job_id: int, kind: str, path: Path, fmt: str, actor_id: int | None, filename: str) -> None:
    def step(done: int, total: int | None) -> None:
        try:  # each step keeps the lock: a run that stops stepping (its worker died) loses it
            with redis.pipeline() as pipe:
                pipe.set(PROGRESS_KEY.format(job_id), json.dumps({"done": done, "total": total}), ex=86400)
                pipe.expire(LOCK_KEY.format(job_id), get_settings().import_stale_seconds)
                pipe.execute()
        except RedisError:  # progress is for people watching; the import goes on
            pass

    redis = get_redis()
    spec = KINDS[kind]
    try:
        with session_scope() as session:
            try:
                result = spec.run(session, path, fmt, actor_id, step)
            except (tabular.FileError, PolicyError) as exc:
                session.rollback()
                _finish(session, job_id, ImportStatus.refused, error=str(exc))
                return
            result.publish_bad_rows()
            actor = session.get(StaffUser, actor_id) if actor_id else None
            audit(session=session, actor=actor, action=spec.action, target=f"import_job:{job_id}",
                  filename=filename, rows=result.rows, created=result.created, updated=result.updated,
                  unchanged=result.unchanged, rejected=result.rejected_rows, errors=result.error_count)
            _finish(session, job_id, ImportStatus.done, report=result.model_dump(mode="json"))
    except Exception:
        log.exception("import failed", extra={"import_job_id": job_id, "kind": kind})
        with session_scope() as session:
            _finish(session, job_id, ImportStatus.failed, error="导入时发生内部错误，未写入任何数据；请稍后重试或联系管理员")


def _finish(session: Session, job_id: int, status: ImportStatus, **values) -> None:
    session.execute(update(ImportJob).where(ImportJob.id == job_id)
                    .values(status=status, finished_at=utcnow(), data=None, **values))


@celery_app.task(name="imports.recover")
def recover() -> int:
    """Run again every unfinished job that no run holds: its worker died, or its message was lost."""
    before = utcnow() - timedelta(seconds=get_settings().import_stale_seconds)
    with session_scope() as session:
        ids = list(session.scalars(select(ImportJob.id).where(
            ImportJob.status.in_((ImportStatus.queued, ImportStatus.running)),
            ImportJob.created_at < before)))
    redis = get_redis()
    orphans = [i for i in ids if not redis.exists(LOCK_KEY.format(i))]
    for job_id in orphans:
        run.delay(job_id)
    return len(orphans)
