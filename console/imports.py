"""Imports in the console, one wizard for every kind: choose the file (or download a blank template), the
upload is queued as a worker job, and the job's page follows its progress (htmx, every second) to the report
and the bad-rows download."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from console.deps import Editor, check_csrf
from console.templating import render
from core import imports, xlsx
from core.ids import Id
from core.settings import get_settings
from staff import import_jobs, uploads
from staff.deps import DbSession
from staff.models import ImportJob

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
UNREADABLE = 422


@dataclass(frozen=True)
class Wizard:
    title: str
    path: str  # the form's address
    back: tuple[str, str]  # (label, address) of the page it belongs to
    hint: str  # what the file holds, beside the columns


WIZARDS = {
    "enterprises": Wizard("导入企业名单", "/console/enterprises/import", ("企业与粉丝", "/console/enterprises"),
                          "按统一社会信用代码新增或更新；有错的行不导入并列入报告，其余行照常导入。"),
    "faq": Wizard("导入知识库", "/console/knowledge/import", ("知识库", "/console/knowledge"),
                  "按编号（没有编号时按问题）新增或更新；有任何一行出错则整个文件不写入，改正后重新导入即可，"
                  "同一文件导入两次不会重复。"),
    "policies": Wizard("导入政策", "/console/policies/import", ("政策库", "/console/policies"),
                       "按文号新增或更新，解读各部分可一并导入；有任何一行出错则整个文件不写入。"),
}


def _form(request: Request, kind: str, staff: Editor, refusal: str = "", status_code: int = 200) -> HTMLResponse:
    spec = import_jobs.KINDS[kind]
    return render(request, "imports/form.html",
                  {"kind": kind, "wizard": WIZARDS[kind], "spec": spec, "refusal": refusal,
                   "max_rows": spec.max_rows(get_settings()), "max_mb": get_settings().import_max_mb},
                  staff=staff, status_code=status_code)


def _show(kind: str):
    def show(request: Request, staff: Editor) -> HTMLResponse:
        return _form(request, kind, staff)
    return show


def _upload(kind: str):
    def upload(request: Request, session: DbSession, staff: Editor,
               file: Annotated[UploadFile, File()]) -> Response:
        """Queue the file and go to its job's page; a file refused before parsing shows the form with why."""
        try:
            job = uploads.queue_import(kind, file, session=session, user=staff.user, unreadable=UNREADABLE)
        except HTTPException as exc:
            return _form(request, kind, staff, exc.detail, exc.status_code)
        return RedirectResponse(f"/console/imports/{job.id}", status_code=303)
    return upload


for _kind, _wizard in WIZARDS.items():
    router.add_api_route(_wizard.path, _show(_kind), methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(_wizard.path, _upload(_kind), methods=["POST"])


@router.get("/console/imports/template/{kind}")
def template(kind: str, _staff: Editor) -> Response:
    """A blank workbook with the import's columns, to fill in."""
    if kind not in import_jobs.KINDS:
        raise HTTPException(404, "没有这种导入")
    wb = xlsx.workbook(write_only=True)
    xlsx.append(wb.create_sheet(WIZARDS[kind].title.removeprefix("导入")), import_jobs.KINDS[kind].columns)
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), media_type=uploads.XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{kind}-template.xlsx"'})


def _job(job_id: int, session: DbSession) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise HTTPException(404, f"导入任务 {job_id} 不存在")
    return job


def _context(job: ImportJob) -> dict:
    read = uploads.job_read(job)
    token = read.report.bad_rows_url.rsplit("/", 1)[-1] if read.report and read.report.bad_rows_url else None
    return {"job": read, "atomic": import_jobs.KINDS[job.kind].atomic, "wizard": WIZARDS[job.kind],
            "bad_rows": f"/console/imports/bad-rows/{token}" if token else None}


@router.get("/console/imports/bad-rows/{token}")
def bad_rows(token: str, _staff: Editor) -> Response:
    data = imports.bad_rows(token)
    if data is None:
        raise HTTPException(404, "错误行文件不存在或已过期（保留一天），请重新导入以生成")
    return Response(data, media_type=uploads.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="bad-rows.xlsx"'})


@router.get("/console/imports/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: Id, session: DbSession, staff: Editor) -> HTMLResponse:
    return render(request, "imports/job.html", _context(_job(job_id, session)), staff=staff)


@router.get("/console/imports/{job_id}/status", response_class=HTMLResponse)
def job_status(request: Request, job_id: Id, session: DbSession, staff: Editor) -> HTMLResponse:
    return render(request, "imports/_status.html", _context(_job(job_id, session)), staff=staff)
