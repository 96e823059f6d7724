"""企业与粉丝 > 主题与标签: the policy topics followers subscribe to and the enterprise tags (专精特新, ...),
each created, renamed, reordered and (de)activated by editors with the API's schemas; neither is deleted,
as in the API (subscriptions and enterprises keep them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from console import forms, sessions
from console.deps import EDITORS, SUBSCRIPTION_READERS, Editor, Staff, check_csrf, require
from console.templating import render
from core.ids import Id
from staff.deps import DbSession
from staff.service import audit
from subscriptions import service
from subscriptions.models import EnterpriseTag, Topic
from subscriptions.schemas import TagCreate, TagUpdate, TopicCreate, TopicUpdate

PATH = "/console/enterprises/topics"
router = APIRouter(prefix=PATH, include_in_schema=False, dependencies=[Depends(check_csrf)])
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]


@dataclass(frozen=True)
class Kind:
    """What differs between topics and tags: the table, the schemas, the services and the audit names."""

    label: str
    model: type
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    action: str  # the API's audit action prefix and target kind

    def get(self, session: Session, id_: int):
        return session.get(self.model, id_)

    def create(self, session: Session, body: Any):
        if self.model is Topic:
            return service.create_topic(session=session, topic_in=body)
        return service.create_tag(session=session, tag_in=body)

    def update(self, session: Session, row: Any, body: Any) -> None:
        if self.model is Topic:
            service.update_topic(session=session, topic=row, topic_in=body)
        else:
            service.update_tag(session=session, tag=row, tag_in=body)


KINDS = {"topic": Kind("主题", Topic, TopicCreate, TopicUpdate, "topic"),
         "tag": Kind("标签", EnterpriseTag, TagCreate, TagUpdate, "enterprise_tag")}


class RowForm(BaseModel):
    """A topic's or tag's row as posted; `sort_order` only for topics, `active` a ticked box."""

    name: str = ""
    description: str = ""
    sort_order: str = ""
    active: str = ""


Posted = Annotated[RowForm, Form()]


def _page(request: Request, session: Session, staff: Staff, *, key: str = "", errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    """The page; `key` (e.g. `topic:3`, `tag:new`) names the row whose `errors` and `values` are shown."""
    return render(request, "enterprises/topics.html",
                  {"topics": service.list_topics(session=session, active_only=False),
                   "tags": service.list_tags(session=session), "key": key, "errors": errors or {},
                   "values": values or {}, "can_edit": staff.can(EDITORS), "tab": "topics"},
                  staff=staff, status_code=status_code)


def _body(kind: str, form: RowForm, *, new: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"name": form.name, "description": form.description}
    if kind == "topic" and (form.sort_order.strip() or not new):
        data["sort_order"] = form.sort_order.strip() or None
    if not new:
        data["active"] = bool(form.active)
    return data


def _taken(session: Session, spec: Kind, name: str, exclude_id: int | None) -> bool:
    try:
        service.check_unique(session=session, column=spec.model.name, value=name, exclude_id=exclude_id)
    except service.Conflict:
        return True
    return False


@router.get("", response_class=HTMLResponse)
def topic_page(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    return _page(request, session, staff)


@router.post("/{kind}", response_class=HTMLResponse)
def create(request: Request, kind: str, form: Posted, session: DbSession, staff: Editor) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        raise HTTPException(404, "页面不存在")
    body, errors = forms.parse(spec.create_schema, _body(kind, form, new=True))
    if body is not None and _taken(session, spec, body.name, None):
        errors = {"name": f"已有同名{spec.label}"}
    if errors:
        return _page(request, session, staff, key=f"{kind}:new", errors=errors, values=form.model_dump(),
                     status_code=422)
    row = spec.create(session, body)
    audit(session=session, actor=staff.user, action=f"{spec.action}.create", target=f"{spec.action}:{row.id}",
          name=row.name)
    sessions.flash(staff.session.token, f"已新增{spec.label}“{row.name}”")
    return RedirectResponse(PATH, status_code=303)


@router.post("/{kind}/{row_id:int}", response_class=HTMLResponse)
def edit(request: Request, kind: str, row_id: Id, form: Posted, session: DbSession, staff: Editor) -> Response:
    spec = KINDS.get(kind)
    row = spec.get(session, row_id) if spec else None
    if row is None:
        raise HTTPException(404, "主题或标签不存在")
    body, errors = forms.parse(spec.update_schema, _body(kind, form, new=False))
    if body is not None and _taken(session, spec, body.name, row.id):
        errors = {"name": f"已有同名{spec.label}"}
    if errors:
        return _page(request, session, staff, key=f"{kind}:{row.id}", errors=errors, values=form.model_dump(),
                     status_code=422)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if v is not None and getattr(row, k) != v}
    if changes:
        spec.update(session, row, spec.update_schema(**changes))
        audit(session=session, actor=staff.user, action=f"{spec.action}.update", target=f"{spec.action}:{row.id}",
              **changes)
    sessions.flash(staff.session.token, "已保存" if changes else "没有改动")
    return RedirectResponse(PATH, status_code=303)

