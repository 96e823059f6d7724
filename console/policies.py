"""政策库: the policy list with its filters, the policy form with the eight interpretation parts and a live
completeness checklist, the revision history with a diff between any two revisions, and the status changes
staff may make (废止, 已修订, 恢复). Each route parses with the API's schemas and calls the same services."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import diffs, forms, labels, sessions
from console.deps import EDITORS, AnyStaff, Editor, Staff, check_csrf
from console.templating import keyset_page, render
from core.ids import Id
from core.text import QueryText
from policies import service
from policies.models import PARTS, STATUS_LABELS, Interpretation, Policy, PolicyStatus
from policies.schemas import InterpretationUpdate, PolicyCreate, PolicyUpdate
from staff.deps import DbSession
from staff.models import StaffUser
from staff.service import audit
from subscriptions import service as subscriptions

router = APIRouter(prefix="/console/policies", include_in_schema=False, dependencies=[Depends(check_csrf)])
PAGE = 20
VIA = "console"
MEDIA = ("image_url", "video_url")


def policy_or_404(policy_id: Id, session: DbSession) -> Policy:
    policy = service.get_policy(session=session, policy_id=policy_id)
    if policy is None:
        raise HTTPException(404, f"政策 {policy_id} 不存在")
    return policy


Found = Annotated[Policy, Depends(policy_or_404)]


# --- the list -----------------------------------------------------------------------------------------

@router.get("", response_class=HTMLResponse)
def policy_list(request: Request, session: DbSession, staff: AnyStaff, q: QueryText | None = None,
                status: Annotated[PolicyStatus | None, forms.Blank, Query()] = None,
                topic: Annotated[Id | None, forms.Blank] = None,
                issuer: Annotated[QueryText | None, forms.Blank] = None,
                before_id: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    total, rows = service.page_policies(session=session, q=q, status=status, topic_id=topic, issuer=issuer,
                                        limit=PAGE + 1, before_id=before_id)
    rows, next_id = keyset_page(rows, PAGE)
    filters = {k: v for k, v in {"q": q, "status": status.value if status else None, "topic": topic,
                                 "issuer": issuer}.items() if v not in (None, "")}
    name = "policies/_rows.html" if request.headers.get("HX-Target") == "policy-rows" else "policies/list.html"
    return render(request, name, {"policies": rows, "total": total, "filters": filters, "next_before": next_id,
                                  "statuses": labels.POLICY_STATUS, "issuers": service.issuers(session=session),
                                  "topics": subscriptions.list_topics(session=session, active_only=False),
                                  "can_edit": staff.can(EDITORS)}, staff=staff)


# --- the form -----------------------------------------------------------------------------------------

class PolicyForm(BaseModel):
    """The form as posted: strings (industries separated by commas), the chosen topics, parks and tags by
    name, and the eight parts and the media links of the interpretation."""

    title: str = ""
    doc_number: str = ""
    issuer: str = ""
    issued_on: str = ""
    effective_on: str = ""
    expires_on: str = ""
    body: str = ""
    industries: str = ""
    topics: list[str] = []
    parks: list[str] = []
    tags: list[str] = []
    source_url: str = ""
    background: str = ""
    goals: str = ""
    main_content: str = ""
    keywords: str = ""
    scope: str = ""
    standards: str = ""
    benefits: str = ""
    changes: str = ""
    image_url: str = ""
    video_url: str = ""


Posted = Annotated[PolicyForm, Form()]


def _split(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；", "\n"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def _bodies(form: PolicyForm) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API's two bodies: the policy's fields and the interpretation's parts."""
    data = form.model_dump()
    interpretation = {field: data.pop(field) for field in (*PARTS, *MEDIA)}
    data["doc_number"] = data["doc_number"].strip() or None
    for day in ("issued_on", "effective_on", "expires_on"):
        data[day] = data[day].strip() or None
    data["industries"] = _split(form.industries)
    return data, interpretation


def _parse(form: PolicyForm, schema: type[PolicyCreate] | type[PolicyUpdate]):
    policy_data, interpretation_data = _bodies(form)
    policy_in, errors = forms.parse(schema, policy_data)
    interpretation_in, part_errors = forms.parse(InterpretationUpdate, interpretation_data)
    return policy_in, interpretation_in, errors | part_errors


def _values(policy: Policy) -> dict[str, Any]:
    interp = policy.interpretation
    values: dict[str, Any] = {
        "title": policy.title, "doc_number": policy.doc_number or "", "issuer": policy.issuer,
        "issued_on": policy.issued_on or "", "effective_on": policy.effective_on or "",
        "expires_on": policy.expires_on or "", "body": policy.body, "industries": "，".join(policy.industries),
        "source_url": policy.source_url, **{kind: [row.name for row in getattr(policy, kind)]
                                            for kind in ("topics", "parks", "tags")}}
    for field in (*PARTS, *MEDIA):
        values[field] = (getattr(interp, field) or "") if interp else ""
    return values


def checklist(values: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each of the eight parts and whether it is filled, decided by the interpretation's own check."""
    missing = set(Interpretation(**{p: values.get(p) or "" for p in PARTS}).missing_parts())
    return [(label, label not in missing) for label in PARTS.values()]


def _form_page(request: Request, session: Session, staff: Staff, *, values: dict[str, Any],
               errors: dict[str, str], policy: Policy | None = None, refusal: str = "",
               status_code: int = 200) -> HTMLResponse:
    chosen = {kind: set(values.get(kind) or []) for kind in ("topics", "parks", "tags")}
    choices = {"topics": [t.name for t in subscriptions.list_topics(session=session, active_only=False)
                          if t.active or t.name in chosen["topics"]],
               "parks": [p.name for p in subscriptions.list_parks(session=session)],
               "tags": [t.name for t in subscriptions.list_tags(session=session)]}
    context = {"values": values, "errors": errors, "policy": policy, "parts": PARTS, "choices": choices,
               "checklist": checklist(values), "can_edit": staff.can(EDITORS), "refusal": refusal,
               "statuses": labels.POLICY_STATUS}
    if policy is not None:
        context["note"] = service.status_note(policy)
    return render(request, "policies/form.html", context, staff=staff, status_code=status_code)


def _policy_error(request: Request, session: Session, staff: Staff, form: PolicyForm, exc: service.PolicyError,
                  policy: Policy | None = None) -> HTMLResponse:
    """The domain refused the change: nothing of it stays; the form again with the reason at its field."""
    session.rollback()
    return _form_page(request, session, staff, values=form.model_dump(), errors={exc.field: str(exc)},
                      policy=policy, status_code=409)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, staff: Editor) -> HTMLResponse:
    return _form_page(request, session, staff, values={}, errors={})


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, form: Posted, session: DbSession, staff: Editor) -> Response:
    policy_in, interpretation_in, errors = _parse(form, PolicyCreate)
    if errors:
        return _form_page(request, session, staff, values=form.model_dump(), errors=errors, status_code=422)
    try:
        policy = service.create_policy(session=session, policy_in=policy_in, actor_id=staff.user.id, via=VIA)
    except service.PolicyError as exc:
        return _policy_error(request, session, staff, form, exc)
    service.set_interpretation(session=session, policy=policy, interpretation_in=interpretation_in,
                               actor_id=staff.user.id, via=VIA)
    audit(session=session, actor=staff.user, action="policy.create", target=f"policy:{policy.id}",
          doc_number=policy.doc_number)
    sessions.flash(staff.session.token, f"已新增政策 {policy.id}")
    return RedirectResponse(f"/console/policies/{policy.id}", status_code=303)


@router.post("/checklist", response_class=HTMLResponse)
def live_checklist(request: Request, form: Posted, staff: AnyStaff) -> HTMLResponse:
    """The checklist for the parts as typed so far (htmx, while staff type); stores nothing."""
    return render(request, "policies/_checklist.html", {"checklist": checklist(form.model_dump())}, staff=staff)


@router.get("/{policy_id}", response_class=HTMLResponse)
def detail(request: Request, policy: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    return _form_page(request, session, staff, values=_values(policy), errors={}, policy=policy)


@router.post("/{policy_id}", response_class=HTMLResponse)
def edit(request: Request, policy: Found, form: Posted, session: DbSession, staff: Editor) -> Response:
    policy_in, interpretation_in, errors = _parse(form, PolicyUpdate)
    if errors:
        return _form_page(request, session, staff, values=form.model_dump(), errors=errors, policy=policy,
                          status_code=422)
    try:
        changes = service.update_policy(session=session, policy=policy, policy_in=policy_in,
                                        actor_id=staff.user.id, via=VIA)
    except service.PolicyError as exc:
        return _policy_error(request, session, staff, form, exc, policy)
    parts = service.set_interpretation(session=session, policy=policy, interpretation_in=interpretation_in,
                                       actor_id=staff.user.id, via=VIA)
    for action, changed in (("policy.update", changes), ("interpretation.update", parts)):
        if changed:
            audit(session=session, actor=staff.user, action=action, target=f"policy:{policy.id}",
                  fields=sorted(changed))
    sessions.flash(staff.session.token, "已保存" if changes or parts else "没有改动")
    return RedirectResponse(f"/console/policies/{policy.id}", status_code=303)


# --- status changes -----------------------------------------------------------------------------------

def _change_status(request: Request, session: Session, staff: Staff, policy: Policy,
                   update: PolicyUpdate) -> Response:
    before = policy.status
    try:
        service.update_policy(session=session, policy=policy, policy_in=update, actor_id=staff.user.id, via=VIA)
    except service.PolicyError as exc:
        session.rollback()
        return _form_page(request, session, staff, values=_values(policy), errors={}, policy=policy,
                          refusal=str(exc), status_code=409)
    audit(session=session, actor=staff.user, action="policy.status", target=f"policy:{policy.id}",
          was=before.value, status=policy.status.value)
    sessions.flash(staff.session.token, f"状态已改为“{STATUS_LABELS[policy.status]}”")
    return RedirectResponse(f"/console/policies/{policy.id}", status_code=303)


@router.post("/{policy_id}/repeal")
def repeal(request: Request, policy: Found, session: DbSession, staff: Editor) -> Response:
    return _change_status(request, session, staff, policy, PolicyUpdate(status=PolicyStatus.repealed))


@router.post("/{policy_id}/reinstate")
def reinstate(request: Request, policy: Found, session: DbSession, staff: Editor) -> Response:
    """Back to the status its dates give (in force, not yet in force or expired)."""
    return _change_status(request, session, staff, policy, PolicyUpdate(status=PolicyStatus.in_force))


@router.post("/{policy_id}/revise")
def revise(request: Request, policy: Found, session: DbSession, staff: Editor,
           successor: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Marked as revised by the policy with the 文号 given."""
    number = successor.strip()
    found = service.get_by_number(session=session, doc_number=number) if number else None
    if found is None:
        refusal = f"文号“{number}”不在政策库中" if number else "请填写修订后政策的文号"
        return _form_page(request, session, staff, values=_values(policy), errors={}, policy=policy,
                          refusal=refusal, status_code=422)
    return _change_status(request, session, staff, policy,
                          PolicyUpdate(status=PolicyStatus.revised, superseded_by_id=found.id))


# --- history ------------------------------------------------------------------------------------------

def _shown(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field == "status":
        return STATUS_LABELS[PolicyStatus(value)]
    if field == "superseded_by_id":
        return f"政策 #{value}"
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


@router.get("/{policy_id}/history", response_class=HTMLResponse)
def history(request: Request, policy: Found, session: DbSession, staff: AnyStaff,
            from_id: Annotated[int | None, Query(ge=0)] = None,
            to_id: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    """Every revision, newest first; the diff between two of them (by default the newest and the one
    before it; the oldest against the policy before it existed)."""
    states = service.revision_states(session=session, policy=policy)
    by_id = {revision.id: state for revision, state in states}
    ids = [revision.id for revision, _ in states]
    to_id = to_id if to_id in by_id else (ids[0] if ids else None)
    if from_id == 0:  # the policy before it existed
        from_id = None
    elif from_id not in by_id:
        older = [i for i in ids if to_id is not None and i < to_id]
        from_id = older[0] if older else None
    diff: list[diffs.FieldDiff] = []
    if to_id is not None:
        before = by_id[from_id] if from_id is not None else {}
        diff = diffs.changed_fields(before, by_id[to_id], labels.POLICY_FIELDS, _shown)
    actors = dict(session.execute(select(StaffUser.id, StaffUser.username).where(
        StaffUser.id.in_({r.actor_id for r, _ in states if r.actor_id is not None}))).all())
    changed = {r.id: [labels.POLICY_FIELDS.get(f, f) for f, (old, new) in r.changes.items()
                      if _shown(f, old) != _shown(f, new)] for r, _ in states}  # not "" for None
    return render(request, "policies/history.html",
                  {"policy": policy, "revisions": [r for r, _ in states], "actors": actors, "diff": diff,
                   "changed": changed,
                   "from_id": from_id, "to_id": to_id,
                   "actions": labels.REVISION_ACTION, "vias": labels.REVISION_VIA}, staff=staff)
