"""企业与粉丝 > 园区: the parks with their QR codes (made at WeChat by the API's flow, the image fetched by
the server), and the editor's create, rename, new scene and delete, parsed with the API's schemas."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from console import forms, sessions
from console.deps import EDITORS, SUBSCRIPTION_READERS, Editor, Staff, check_csrf, require
from console.templating import render
from core.ids import Id
from staff.deps import DbSession
from staff.service import audit
from subscriptions import flows, service
from subscriptions.models import Park
from subscriptions.schemas import ParkCreate, ParkUpdate
from wechat.client import get_client

PATH = "/console/enterprises/parks"
router = APIRouter(prefix=PATH, include_in_schema=False, dependencies=[Depends(check_csrf)])
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]
TAKEN = {"name": "已有同名园区", "qr_scene": "该场景值已被其他园区使用"}


def park_or_404(park_id: Id, session: DbSession) -> Park:
    park = service.get_park(session=session, park_id=park_id)
    if park is None:
        raise HTTPException(404, f"园区 {park_id} 不存在")
    return park


Found = Annotated[Park, Depends(park_or_404)]


class ParkForm(BaseModel):
    name: str = ""
    qr_scene: str = ""


Posted = Annotated[ParkForm, Form()]


def _page(request: Request, session: Session, staff: Staff, *, errors: dict[str, dict[str, str]] | None = None,
          values: dict[str, dict[str, str]] | None = None, status_code: int = 200) -> HTMLResponse:
    """The parks page; `errors` and `values` are keyed by park id, or "new" for the create form."""
    return render(request, "enterprises/parks.html",
                  {"parks": service.list_parks(session=session), "errors": errors or {}, "values": values or {},
                   "can_edit": staff.can(EDITORS), "tab": "parks"}, staff=staff, status_code=status_code)


def _taken(session: Session, body: ParkCreate | ParkUpdate, park_id: int | None) -> dict[str, str]:
    errors = {}
    for field, column in (("name", Park.name), ("qr_scene", Park.qr_scene)):
        try:
            service.check_unique(session=session, column=column, value=getattr(body, field), exclude_id=park_id)
        except service.Conflict:
            errors[field] = TAKEN[field]
    return errors


@router.get("", response_class=HTMLResponse)
def park_list(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    return _page(request, session, staff)


@router.post("", response_class=HTMLResponse)
def create(request: Request, form: Posted, session: DbSession, staff: Editor) -> Response:
    body, errors = forms.parse(ParkCreate, form.model_dump())
    if body is not None:
        errors = _taken(session, body, None)
    if body is None or errors:
        return _page(request, session, staff, errors={"new": errors}, values={"new": form.model_dump()},
                     status_code=422)
    park = service.create_park(session=session, park_in=body)
    audit(session=session, actor=staff.user, action="park.create", target=f"park:{park.id}", name=park.name)
    sessions.flash(staff.session.token, f"已新增园区“{park.name}”")
    return RedirectResponse(PATH, status_code=303)


@router.post("/{park_id:int}", response_class=HTMLResponse)
def edit(request: Request, park: Found, form: Posted, session: DbSession, staff: Editor) -> Response:
    body, errors = forms.parse(ParkUpdate, form.model_dump())
    if body is not None:
        errors = _taken(session, body, park.id)
    if body is None or errors:
        return _page(request, session, staff, errors={str(park.id): errors},
                     values={str(park.id): form.model_dump()}, status_code=422)
    changes = {k: v for k, v in body.model_dump().items() if getattr(park, k) != v}
    if changes:
        service.update_park(session=session, park=park, park_in=body)
        audit(session=session, actor=staff.user, action="park.update", target=f"park:{park.id}", **changes)
    sessions.flash(staff.session.token, "已保存" if changes else "没有改动")
    return RedirectResponse(PATH, status_code=303)


@router.post("/{park_id:int}/delete")
def delete(park: Found, session: DbSession, staff: Editor) -> Response:
    audit(session=session, actor=staff.user, action="park.delete", target=f"park:{park.id}", name=park.name)
    name = park.name
    service.delete_park(session=session, park=park)
    sessions.flash(staff.session.token, f"已删除园区“{name}”，其企业和粉丝保留，不再属于任何园区")
    return RedirectResponse(PATH, status_code=303)


@router.post("/{park_id:int}/qrcode")
def make_qrcode(park: Found, session: DbSession, staff: Editor) -> Response:
    """The API's flow: a permanent code for the park's scene (`park-<id>` when it has none), made once."""
    try:
        flows.create_park_qrcode(session=session, client=get_client(), park=park)
    except service.Conflict as exc:
        sessions.flash(staff.session.token, str(exc), "danger")
        return RedirectResponse(PATH, status_code=303)
    except (WeChatClientException, OSError) as exc:
        session.rollback()
        detail = f"（{exc.errcode} {exc.errmsg}）" if isinstance(exc, WeChatClientException) else ""
        sessions.flash(staff.session.token, f"微信未能生成二维码{detail}，请稍后再试", "danger")
        return RedirectResponse(PATH, status_code=303)
    audit(session=session, actor=staff.user, action="park.qrcode", target=f"park:{park.id}", scene=park.qr_scene)
    sessions.flash(staff.session.token, f"已生成“{park.name}”的二维码")
    return RedirectResponse(PATH, status_code=303)


@router.get("/{park_id:int}/qrcode")
def qrcode_image(park: Found, _staff: Reader) -> Response:
    """The QR image, fetched by the server from WeChat (staff browsers on an intranet may not reach it)."""
    image: Any = None
    if park.qr_ticket:
        try:
            image = get_client().qrcode.show(park.qr_ticket)
        except OSError:
            image = None
    if image is None or not image.ok:
        raise HTTPException(404, "该园区还没有二维码，或暂时无法从微信取得")
    return Response(image.content, media_type=image.headers.get("content-type", "image/jpeg"),
                    headers={"Cache-Control": "private, max-age=3600"})
