"""企业绑定核验: the queue of unverified enterprise bindings; editors verify or reject each (audited),
through the same domain functions as the staff API."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from console import sessions
from console.deps import FULL_VIEW, SUBSCRIPTION_READERS, Editor, Staff, check_csrf, require
from console.templating import render
from core.ids import MAX_ID, Id
from core.masking import mask_credit_code, mask_openid
from staff.deps import DbSession
from staff.service import audit
from subscriptions import service as subscriptions
from subscriptions import verification
from subscriptions.models import EnterpriseBinding

router = APIRouter(prefix="/console/bindings", include_in_schema=False, dependencies=[Depends(check_csrf)])
PAGE = 50
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]


@router.get("", response_class=HTMLResponse)
def queue(request: Request, session: DbSession, staff: Reader,
          q: Annotated[str | None, Query(max_length=200)] = None,
          after_enterprise_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
          after_follower_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> HTMLResponse:
    rows = verification.list_bindings(session=session, q=q, after=(after_enterprise_id, after_follower_id),
                                      limit=PAGE)
    full = staff.user.role in FULL_VIEW
    items = [{"enterprise_id": e.id, "follower_id": f.id, "name": e.name, "park": e.park.name if e.park else "",
              "credit_code": e.credit_code if full else mask_credit_code(e.credit_code),
              "openid": f.openid if full else mask_openid(f.openid), "bound_at": b.bound_at,
              "self_registered": e.verified_at is None,
              "contact_on_record": verification.contact_digits(e) is not None} for b, e, f in rows]
    last = rows[-1].binding if len(rows) == PAGE else None
    return render(request, "bindings.html", {"items": items, "q": q or "", "next": last}, staff=staff)


def _binding_or_404(session, enterprise_id: int, follower_id: int) -> EnterpriseBinding:
    binding = session.get(EnterpriseBinding, (follower_id, enterprise_id))
    if binding is None:
        raise HTTPException(404, "没有这条绑定（可能已被解绑）")
    return binding


@router.post("/{enterprise_id}/{follower_id}/verify")
def verify(enterprise_id: Id, follower_id: Id, session: DbSession, staff: Editor) -> Response:
    _binding_or_404(session, enterprise_id, follower_id)
    try:
        verification.verify_binding(session=session, follower_id=follower_id, enterprise_id=enterprise_id,
                                    by=f"staff:{staff.user.username}")
    except verification.AlreadyVerified:
        sessions.flash(staff.session.token, "该绑定已核验")
        return RedirectResponse("/console/bindings", status_code=303)
    audit(session=session, actor=staff.user, action="binding.verify", target=f"enterprise:{enterprise_id}",
          follower_id=follower_id)
    sessions.flash(staff.session.token, "已核验")
    return RedirectResponse("/console/bindings", status_code=303)


@router.post("/{enterprise_id}/{follower_id}/reject")
def reject(enterprise_id: Id, follower_id: Id, session: DbSession, staff: Editor) -> Response:
    _binding_or_404(session, enterprise_id, follower_id)
    subscriptions.unbind_enterprise(session=session, follower_id=follower_id, enterprise_id=enterprise_id)
    audit(session=session, actor=staff.user, action="binding.reject", target=f"enterprise:{enterprise_id}",
          follower_id=follower_id)
    sessions.flash(staff.session.token, "已驳回，该关注者不再绑定此企业")
    return RedirectResponse("/console/bindings", status_code=303)
