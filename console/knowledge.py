"""知识库: the FAQ list, the entry editor, 试一试 (what the chat would answer, decided by the chat's own
function) and export (its import is console.imports). Each route parses with the API's schemas and calls
the same FAQ services."""
from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel

from bot import answering
from console import forms, sessions
from console.deps import EDITORS, AnyStaff, Editor, Staff, check_csrf
from console.templating import keyset_page, render
from core.ids import Id
from core.settings import get_settings
from core.text import QueryText
from policies import faq, faq_import
from policies.models import FaqEntry
from policies.schemas import FaqCreate, FaqUpdate
from staff import uploads
from staff.deps import DbSession
from staff.service import audit

router = APIRouter(prefix="/console/knowledge", include_in_schema=False, dependencies=[Depends(check_csrf)])
PAGE = 20
XLSX = uploads.XLSX


def entry_or_404(entry_id: Id, session: DbSession) -> FaqEntry:
    entry = faq.get(session=session, entry_id=entry_id)
    if entry is None:
        raise HTTPException(404, f"知识条目 {entry_id} 不存在")
    return entry


Found = Annotated[FaqEntry, Depends(entry_or_404)]


@router.get("", response_class=HTMLResponse)
def faq_list(request: Request, session: DbSession, staff: AnyStaff, q: QueryText | None = None,
             category: QueryText | None = None, after_id: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    total, rows = faq.search(session=session, q=q, category=category, limit=PAGE + 1, after_id=after_id)
    rows, next_id = keyset_page(rows, PAGE)
    name = "knowledge/_rows.html" if request.headers.get("HX-Target") == "faq-rows" else "knowledge/list.html"
    return render(request, name, {"entries": rows, "total": total, "q": q or "", "category": category or "",
                                  "categories": faq.categories(session=session),
                                  "next_after": next_id, "can_edit": staff.can(EDITORS)},
                  staff=staff)


# --- 试一试 -------------------------------------------------------------------------------------------

@router.get("/try", response_class=HTMLResponse)
def try_question(request: Request, staff: AnyStaff, question: QueryText | None = None) -> HTMLResponse:
    """The reply the chat would give to `question` and the candidates it weighed; asks and logs nothing."""
    decision = answering.decide(question) if question and question.strip() else None
    return render(request, "knowledge/_try.html", {"question": question or "", "decision": decision,
                                                   "settings": get_settings()}, staff=staff)


# --- export (import: console.imports) ------------------------------------------------------------------

@router.get("/export")
def export(session: DbSession, _staff: AnyStaff) -> StreamingResponse:
    out = io.BytesIO()
    faq_import.export_faq(session=session, path_or_file=out)
    out.seek(0)
    return StreamingResponse(out, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="faq.xlsx"'})


# --- the editor ---------------------------------------------------------------------------------------

class EntryForm(BaseModel):
    """The editor as posted: similar questions one a line, keywords separated by commas."""

    external_id: str = ""
    category: str = ""
    question: str = ""
    answer: str = ""
    similar: str = ""
    keywords: str = ""
    issuer: str = ""
    source_url: str = ""
    policy_number: str = ""


Posted = Annotated[EntryForm, Form()]


def _body(form: EntryForm) -> dict[str, Any]:
    data: dict[str, Any] = form.model_dump()
    data["similar"] = [line for line in form.similar.splitlines() if line.strip()]
    data["keywords"] = [k for k in form.keywords.replace("，", ",").replace("、", ",").split(",") if k.strip()]
    for optional in ("external_id", "policy_number"):
        data[optional] = data[optional].strip() or None
    return data


def _values(entry: FaqEntry) -> dict[str, Any]:
    return {"external_id": entry.external_id or "", "category": entry.category, "question": entry.question,
            "answer": entry.answer, "similar": "\n".join(entry.similar), "keywords": "，".join(entry.keywords),
            "issuer": entry.issuer, "source_url": entry.source_url, "policy_number": entry.policy_number or ""}


def _form_page(request: Request, staff: Staff, *, values: dict[str, Any], errors: dict[str, str],
               entry: FaqEntry | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "knowledge/form.html", {"values": values, "errors": errors, "entry": entry,
                                                   "can_edit": staff.can(EDITORS)},
                  staff=staff, status_code=status_code)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, staff: Editor, question: str = "") -> HTMLResponse:
    return _form_page(request, staff, values={"question": question}, errors={})


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, form: Posted, session: DbSession, staff: Editor) -> Response:
    body, errors = forms.parse(FaqCreate, _body(form))
    if body is None:
        return _form_page(request, staff, values=form.model_dump(), errors=errors, status_code=422)
    try:
        entry = faq.create(session=session, entry_in=body, actor_id=staff.user.id)
    except faq.FaqError as exc:
        return _form_page(request, staff, values=form.model_dump(), errors={"external_id": str(exc)},
                          status_code=409)
    audit(session=session, actor=staff.user, action="faq.create", target=f"faq:{entry.id}")
    sessions.flash(staff.session.token, f"已新增知识条目 {entry.id}")
    return RedirectResponse(f"/console/knowledge/{entry.id}", status_code=303)


@router.get("/{entry_id}", response_class=HTMLResponse)
def detail(request: Request, entry: Found, staff: AnyStaff) -> HTMLResponse:
    return _form_page(request, staff, values=_values(entry), errors={}, entry=entry)


@router.post("/{entry_id}", response_class=HTMLResponse)
def edit(request: Request, entry: Found, form: Posted, session: DbSession, staff: Editor) -> Response:
    body, errors = forms.parse(FaqUpdate, _body(form))
    if body is None:
        return _form_page(request, staff, values=form.model_dump(), errors=errors, entry=entry, status_code=422)
    try:
        changes = faq.update(session=session, entry=entry, entry_in=body)
    except faq.FaqError as exc:
        session.rollback()
        return _form_page(request, staff, values=form.model_dump(), errors={"external_id": str(exc)},
                          entry=entry, status_code=409)
    if changes:
        audit(session=session, actor=staff.user, action="faq.update", target=f"faq:{entry.id}",
              fields=sorted(changes))
    sessions.flash(staff.session.token, "已保存" if changes else "没有改动")
    return RedirectResponse(f"/console/knowledge/{entry.id}", status_code=303)


@router.post("/{entry_id}/delete")
def delete(entry: Found, session: DbSession, staff: Editor) -> Response:
    audit(session=session, actor=staff.user, action="faq.delete", target=f"faq:{entry.id}", question=entry.question)
    faq.delete(session=session, entry=entry)
    sessions.flash(staff.session.token, f"已删除知识条目 {entry.id}")
    return RedirectResponse("/console/knowledge", status_code=303)
