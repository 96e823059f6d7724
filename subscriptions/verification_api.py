"""Staff API for verifying enterprise bindings: the queue of unverified ones, verify, reject (unbind),
and confirming an enterprise a follower registered. Editors (and admins) act; analysts read, masked."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from core.ids import MAX_ID, Id
from core.masking import mask_credit_code, mask_openid
from core.problems import Problem
from staff.deps import DbSession
from staff.models import FULL_VIEW, StaffUser
from staff.service import audit
from subscriptions import service, verification
from subscriptions.api import Editor, Reader, enterprise_or_404
from subscriptions.models import Enterprise, EnterpriseBinding
from subscriptions.schemas import BindingPage, BindingRead, EnterpriseRead

router = APIRouter(prefix="/api", tags=["enterprise bindings"])
_404 = {404: {"model": Problem, "description": "no such binding or enterprise"}}
_409 = {409: {"model": Problem, "description": "verified already"}}


def _read(row: verification.QueueRow, user: StaffUser) -> BindingRead:
    b, e, f = row
    full = user.role in FULL_VIEW
    return BindingRead(
        follower_id=f.id, openid=f.openid if full else mask_openid(f.openid), enterprise_id=e.id,
        enterprise=e.name, credit_code=e.credit_code if full else mask_credit_code(e.credit_code),
        park=e.park.name if e.park else None, enterprise_verified=e.verified_at is not None,
        contact_on_record=verification.contact_digits(e) is not None, bound_at=b.bound_at,
        verified=b.verified_at is not None and e.verified_at is not None, verified_at=b.verified_at,
        verified_by=b.verified_by)


@router.get("/enterprise-bindings", response_model=BindingPage,
            summary="The bindings to verify (keyset paging by enterprise and follower id)")
def list_bindings(
        user: Reader, session: DbSession,
        status_: Annotated[str, Query(alias="status", pattern="^(unverified|verified|all)$",
                                      description="unverified (default), verified or all")] = "unverified",
        enterprise_id: Id | None = None, park_id: Id | None = None,
        q: Annotated[str | None, Query(max_length=200, description="part of the name, or a whole credit code")] = None,
        self_registered: Annotated[bool | None, Query(
            description="true: only enterprises followers registered that staff have not confirmed")] = None,
        after_enterprise_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        after_follower_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> BindingPage:
    verified = {"unverified": False, "verified": True, "all": None}[status_]
    rows = verification.list_bindings(session=session, verified=verified, enterprise_id=enterprise_id,
                                      park_id=park_id, q=q, self_registered=self_registered,
                                      after=(after_enterprise_id, after_follower_id), limit=limit)
    last = rows[-1].binding if len(rows) == limit else None
    return BindingPage(items=[_read(r, user) for r in rows],
                       next_after_enterprise_id=last.enterprise_id if last else None,
                       next_after_follower_id=last.follower_id if last else None)


def _binding_or_404(session, enterprise_id: int, follower_id: int) -> EnterpriseBinding:
    binding = session.get(EnterpriseBinding, (follower_id, enterprise_id))
    if binding is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"follower {follower_id} is not bound to enterprise {enterprise_id} / 没有这条绑定")
    return binding


@router.post("/enterprises/{enterprise_id}/bindings/{follower_id}/verify", response_model=BindingRead,
             responses={**_404, **_409},
             summary="Verify a binding (and the enterprise, when a follower registered it)")
def verify_binding(user: Editor, enterprise_id: Id, follower_id: Id, session: DbSession) -> BindingRead:
    _binding_or_404(session, enterprise_id, follower_id)
    try:
        verification.verify_binding(session=session, follower_id=follower_id, enterprise_id=enterprise_id,
                                    by=f"staff:{user.username}")
    except verification.AlreadyVerified as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session=session, actor=user, action="binding.verify", target=f"enterprise:{enterprise_id}",
          follower_id=follower_id)
    row = verification.list_bindings(session=session, verified=None, enterprise_id=enterprise_id,
                                     after=(enterprise_id, follower_id - 1), limit=1)[0]
    return _read(row, user)


@router.delete("/enterprises/{enterprise_id}/bindings/{follower_id}", status_code=204, responses=_404,
               summary="Reject a binding: the follower no longer speaks for the enterprise")
def reject_binding(user: Editor, enterprise_id: Id, follower_id: Id, session: DbSession) -> Response:
    _binding_or_404(session, enterprise_id, follower_id)
    service.unbind_enterprise(session=session, follower_id=follower_id, enterprise_id=enterprise_id)
    audit(session=session, actor=user, action="binding.reject", target=f"enterprise:{enterprise_id}",
          follower_id=follower_id)
    return Response(status_code=204)


@router.post("/enterprises/{enterprise_id}/verify", response_model=EnterpriseRead, responses={**_404, **_409},
             summary="Confirm an enterprise a follower registered in the chat")
def verify_enterprise(user: Editor, enterprise: Annotated[Enterprise, Depends(enterprise_or_404)],
                      session: DbSession) -> EnterpriseRead:
    try:
        verification.verify_enterprise(session=session, enterprise=enterprise)
    except verification.AlreadyVerified as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session=session, actor=user, action="enterprise.verify", target=f"enterprise:{enterprise.id}")
    return EnterpriseRead.shown(enterprise, full=True)
