"""Files staff upload to the API: the body read with a cap, the file saved and queued as an import job, a
refused file answered in the staff API's refusal shape, the job's progress and report, and its bad rows."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path as PathParam, Response, UploadFile, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sqlalchemy.orm import Session

from core import imports, sheet_limits, tabular
from core.ids import Id
from core.problems import Problem
from staff import import_jobs
from staff.deps import DbSession, require
from staff.models import ImportJob, Role, StaffUser
from staff.schemas import ImportJobRead

MULTIPART_OVERHEAD = 2**16  # boundaries and part headers around the file
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/api", tags=["imports"])


class UploadLimit:
    """ASGI middleware: a multipart body larger than IMPORT_MAX_MB is refused with 413 while it arrives,
    before the form parser spools it to disk (it would take any size)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        limit = sheet_limits.max_bytes() + MULTIPART_OVERHEAD
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send)
            return
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # FastAPI passes an HTTPException raised while parsing the form through
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(sheet_limits.too_large()))
            return message

        await self.app(scope, capped, send)


def _is_multipart(scope: Scope) -> bool:
    return dict(scope["headers"]).get(b"content-type", b"").startswith(b"multipart/")


async def _too_large(send: Send) -> None:
    body = json.dumps({"detail": str(sheet_limits.too_large())}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def saved(file: UploadFile, formats: tuple[str, ...], *, unreadable: int) -> Iterator[tuple[Path, str]]:
    """The upload in a temporary file named with its format, copied with the size cap."""
    try:
        fmt = tabular.file_format(file.filename or "", formats)
    except tabular.FileError as exc:
        raise HTTPException(unreadable, str(exc)) from None
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as copy:
        copied = 0
        while chunk := file.file.read(2**20):
            copied += len(chunk)
            if copied > sheet_limits.max_bytes():
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(sheet_limits.too_large()))
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name), fmt


def refused(exc: tabular.FileError, *, unreadable: int) -> HTTPException:
    """A file that cannot be imported: 422 when it breaks a limit, else the route's status for unreadable."""
    if isinstance(exc, tabular.LimitExceeded):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    return HTTPException(unreadable, str(exc))


def queue_import(kind: str, file: UploadFile, *, session: Session, user: StaffUser, unreadable: int) -> ImportJob:
    """Save the upload and queue its import; a file refused before parsing raises the route's HTTPException."""
    with saved(file, import_jobs.KINDS[kind].formats, unreadable=unreadable) as (path, fmt):
        try:
            return import_jobs.submit(session=session, kind=kind, path=path, fmt=fmt,
                                      filename=file.filename or "", actor=user)
        except tabular.FileError as exc:
            raise refused(exc, unreadable=unreadable) from None


def job_read(job: ImportJob) -> ImportJobRead:
    done, total = import_jobs.progress(job.id)
    if job.status == "done":
        done = total = job.report["rows"] if job.report else 0
    return ImportJobRead(id=job.id, kind=job.kind, filename=job.filename, status=job.status, rows_done=done,
                         rows_total=total, report=import_jobs.report(job), error=job.error,
                         created_at=job.created_at, finished_at=job.finished_at, status_url=f"/api/imports/{job.id}")


def accepted(job: ImportJob, response: Response) -> ImportJobRead:
    """202 for a queued import, with where to follow it."""
    response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/api/imports/{job.id}"
    return job_read(job)


FILE_REFUSALS = {
    413: {"model": Problem, "description": "the upload is larger than IMPORT_MAX_MB; nothing was stored"},
    422: {"model": Problem, "description": "the file breaks an import limit it declares (sheet size, parts, "
                                           "compression); nothing was stored"},
}


@router.get("/imports/{job_id}", response_model=ImportJobRead,
            responses={404: {"model": Problem, "description": "no such import"}},
            summary="An import's status, progress and, once done, its report")
def read_import(_user: Annotated[StaffUser, Depends(require(Role.editor))], job_id: Id,
                session: DbSession) -> ImportJobRead:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "导入任务不存在")
    return job_read(job)


@router.get("/imports/bad-rows/{token}", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "every bad row: 行号, 错误原因 and its cells"},
                       404: {"model": Problem, "description": "unknown or expired (IMPORT_BAD_ROWS_HOURS)"}},
            summary="Download an import report's bad rows as .xlsx (the report's bad_rows_url)")
def download_bad_rows(_user: Annotated[StaffUser, Depends(require(Role.editor))],
                      token: Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]) -> Response:
    data = imports.bad_rows(token)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "错误行文件不存在或已过期，请重新导入")
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="bad-rows.xlsx"'})
