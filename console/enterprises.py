"""企业与粉丝: the enterprise list (filtered, searched, keyset-paged), an enterprise's page with its tags and
the followers bound to it and their subscriptions, the editor's form, and the export. Each route parses
with the API's schemas and calls the same subscriptions services; analysts read contacts and credit
codes masked, as in the API."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from console import forms, sessions
from console.deps import EDITORS, FULL_VIEW, SUBSCRIPTION_READERS, Editor, Staff, check_csrf, require
from console.templating import keyset_page, render
from core.ids import MAX_ID, Id
from core.masking import mask_credit_code, mask_openid
from core.text import QueryText
from staff.deps import DbSession
from staff.service import audit
from subscriptions import api as subscriptions_api
from subscriptions import reference, service, verification
from subscriptions.models import Enterprise
from subscriptions.schemas import EnterpriseCreate, EnterpriseRead, EnterpriseUpdate

router = APIRouter(prefix="/console/enterprises", include_in_schema=False, dependencies=[Depends(check_csrf)])
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]
PAGE = 20
FOLLOWERS_SHOWN = 100
BOUND = {"1": True, "0": False}


def enterprise_or_404(enterprise_id: Id, session: DbSession) -> Enterprise:
    enterprise = service.get_enterprise(session=session, enterprise_id=enterprise_id)
    if enterprise is None:
        raise HTTPException(404, f"企业 {enterprise_id} 不存在")
    return enterprise


Found = Annotated[Enterprise, Depends(enterprise_or_404)]


def _choices(session: Session) -> dict[str, Any]:
    return {"sections": reference.sections(), "divisions": reference.divisions(),
            "sizes": reference.size_classes(), "parks": service.list_parks(session=session),
            "tags": service.list_tags(session=session)}


def _an_id(raw: str) -> int | None:
    return int(raw) if raw.isdecimal() and 0 < int(raw) <= MAX_ID else None


def _filters(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The list's query as the service's arguments, and a message at each filter that cannot be used."""
    found: dict[str, Any] = {"q": raw["q"].strip() or None, "bound": BOUND.get(raw["bound"])}
    errors: dict[str, str] = {}
    if raw["industry"]:
        try:
            found["industry"] = reference.industry_codes([raw["industry"]])[0]
        except ValueError as exc:
            errors["industry"] = str(exc).rsplit(" / ", 1)[-1]
    if raw["size"]:
        try:
            found["size"] = reference.normalize_size(raw["size"])
        except ValueError as exc:
            errors["size"] = str(exc)
    for key in ("park_id", "tag_id"):
        if raw[key]:
            found[key] = _an_id(raw[key])
            if found[key] is None:
                errors[key] = "须为列表中的一项"
    if raw["bound"] and found["bound"] is None:
        errors["bound"] = "须为列表中的一项"
    return found, errors


@router.get("", response_class=HTMLResponse)
def enterprise_list(request: Request, session: DbSession, staff: Reader, q: QueryText = "",
                    industry: QueryText = "", park_id: QueryText = "", size: QueryText = "",
                    tag_id: QueryText = "", bound: QueryText = "",
                    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> HTMLResponse:
    raw = {"q": q, "industry": industry, "park_id": park_id, "size": size, "tag_id": tag_id, "bound": bound}
    found, errors = _filters(raw)
    rows = [] if errors else service.list_enterprises(session=session, **found, after_id=after_id, limit=PAGE + 1)
    rows, next_id = keyset_page(rows, PAGE)
    full = staff.can(FULL_VIEW)
    kept = {k: v for k, v in raw.items() if v}
    context = {"enterprises": [EnterpriseRead.shown(e, full=full) for e in rows], "filters": raw, "errors": errors,
               "next_page": f"/console/enterprises?{urlencode({**kept, 'after_id': next_id})}" if next_id else None,
               "can_edit": staff.can(EDITORS), **_choices(session)}
    fragment = request.headers.get("HX-Target") == "enterprise-rows"
    name = "enterprises/_rows.html" if fragment else "enterprises/list.html"
    return render(request, name, context, staff=staff, status_code=422 if errors else 200)


@router.get("/export")
def export(session: DbSession, staff: Editor) -> FileResponse:
    """The API's export (every enterprise, contacts in full, audited): editors and admins only."""
    return subscriptions_api.export_enterprises(user=staff.user, session=session)


# --- an enterprise's page and the editor's form -------------------------------------------------------

class EnterpriseForm(BaseModel):
    """The form as posted: strings and the ticked tags; `_body` makes the API's JSON body of them."""

    credit_code: str = ""
    name: str = ""
    industry_code: str = ""
    park_id: str = ""
    size: str = ""
    tag_ids: list[str] = []
    contact_name: str = ""
    contact_phone: str = ""


Posted = Annotated[EnterpriseForm, Form()]


def _body(form: EnterpriseForm, *, new: bool) -> dict[str, Any]:
    data: dict[str, Any] = form.model_dump(exclude={"credit_code"} if not new else set())
    for optional in ("industry_code", "park_id", "size", "contact_name", "contact_phone"):
        data[optional] = data[optional].strip() or None
    return data


def _values(e: Enterprise) -> dict[str, Any]:
    return {"credit_code": e.credit_code, "name": e.name, "industry_code": e.industry_code or "",
            "park_id": str(e.park_id or ""), "size": e.size or "", "tag_ids": [str(t.id) for t in e.tags],
            "contact_name": e.contact_name or "", "contact_phone": e.contact_phone or ""}


def _bound_followers(session: Session, enterprise: Enterprise, full: bool) -> list[dict[str, Any]]:
    rows = verification.list_bindings(session=session, verified=None, enterprise_id=enterprise.id,
                                      limit=FOLLOWERS_SHOWN)
    return [{"id": f.id, "openid": f.openid if full else mask_openid(f.openid), "state": f.state,
             "park": f.park.name if f.park else "", "bound_at": b.bound_at,
             "verified": b.verified_at is not None and e.verified_at is not None,
             "topics": [t.name for t in f.topics]} for b, e, f in rows]


def _page(request: Request, session: Session, staff: Staff, *, enterprise: Enterprise | None,
          values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    full = staff.can(FULL_VIEW)
    context: dict[str, Any] = {"enterprise": enterprise, "values": values, "errors": errors,
                               "can_edit": staff.can(EDITORS), **_choices(session)}
    if enterprise is not None:
        context["shown"] = EnterpriseRead.shown(enterprise, full=full)
        context["followers"] = _bound_followers(session, enterprise, full)
        context["followers_capped"] = len(context["followers"]) == FOLLOWERS_SHOWN
    return render(request, "enterprises/detail.html", context, staff=staff, status_code=status_code)


def _reference_error(exc: service.InvalidReference) -> dict[str, str]:
    if str(exc).startswith("park"):
        return {"park_id": "园区不存在（可能已被删除）"}
    return {"tag_ids": "标签不存在或已停用"}


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, staff: Editor) -> HTMLResponse:
    return _page(request, session, staff, enterprise=None, values={}, errors={})


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, form: Posted, session: DbSession, staff: Editor) -> Response:
    values = form.model_dump()
    body, errors = forms.parse(EnterpriseCreate, _body(form, new=True))
    if body is None:
        return _page(request, session, staff, enterprise=None, values=values, errors=errors, status_code=422)
    try:
        enterprise = service.add_enterprise(session=session, enterprise_in=body)
    except service.Conflict:
        return _page(request, session, staff, enterprise=None, values=values,
                     errors={"credit_code": "已有该统一社会信用代码的企业"}, status_code=409)
    except service.InvalidReference as exc:
        return _page(request, session, staff, enterprise=None, values=values, errors=_reference_error(exc),
                     status_code=422)
    audit(session=session, actor=staff.user, action="enterprise.create", target=f"enterprise:{enterprise.id}")
    sessions.flash(staff.session.token, f"已新增企业“{enterprise.name}”")
    return RedirectResponse(f"/console/enterprises/{enterprise.id}", status_code=303)


@router.get("/{enterprise_id:int}", response_class=HTMLResponse)
def detail(request: Request, enterprise: Found, session: DbSession, staff: Reader) -> HTMLResponse:
    values = _values(enterprise) if staff.can(EDITORS) else {}
    return _page(request, session, staff, enterprise=enterprise, values=values, errors={})


@router.post("/{enterprise_id:int}", response_class=HTMLResponse)
def edit(request: Request, enterprise: Found, form: Posted, session: DbSession, staff: Editor) -> Response:
    values = {**form.model_dump(), "credit_code": enterprise.credit_code}
    body, errors = forms.parse(EnterpriseUpdate, _body(form, new=False))
    if body is None:
        return _page(request, session, staff, enterprise=enterprise, values=values, errors=errors, status_code=422)
    before = _values(enterprise)
    try:
        service.update_enterprise(session=session, enterprise=enterprise, enterprise_in=body)
    except service.InvalidReference as exc:
        return _page(request, session, staff, enterprise=enterprise, values=values, errors=_reference_error(exc),
                     status_code=422)
    after = _values(enterprise)
    changed = sorted(field for field in before if before[field] != after[field])
    if changed:  # field names only: contact values are personal data and stay out of the audit log
        audit(session=session, actor=staff.user, action="enterprise.update", target=f"enterprise:{enterprise.id}",
              fields=changed)
    sessions.flash(staff.session.token, "已保存" if changed else "没有改动")
    return RedirectResponse(f"/console/enterprises/{enterprise.id}", status_code=303)


@router.post("/{enterprise_id:int}/delete")
def delete(enterprise: Found, session: DbSession, staff: Editor) -> Response:
    audit(session=session, actor=staff.user, action="enterprise.delete", target=f"enterprise:{enterprise.id}",
          credit_code=mask_credit_code(enterprise.credit_code))
    name = enterprise.name
    service.delete_enterprise(session=session, enterprise=enterprise)
    sessions.flash(staff.session.token, f"已删除企业“{name}”，绑定它的粉丝已解除绑定")
    return RedirectResponse("/console/enterprises", status_code=303)
