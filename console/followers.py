"""企业与粉丝 > 粉丝: the followers (by state and park, keyset-paged), each with their subscriptions, the
enterprises they are bound to and their push preferences; openids and credit codes masked for analysts."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from console import forms
from console.deps import FULL_VIEW, SUBSCRIPTION_READERS, Staff, require
from console.templating import keyset_page, render
from core.ids import MAX_ID, Id
from staff.deps import DbSession
from subscriptions import service
from subscriptions.models import Follower, FollowerState
from subscriptions.schemas import EnterpriseRead, FollowerRead

PATH = "/console/enterprises/followers"
router = APIRouter(prefix=PATH, include_in_schema=False)
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]
PAGE = 50
STATES = {FollowerState.following: "关注中", FollowerState.unfollowed: "已取消关注"}


def follower_or_404(follower_id: Id, session: DbSession) -> Follower:
    follower = service.get_follower(session=session, follower_id=follower_id)
    if follower is None:
        raise HTTPException(404, f"粉丝 {follower_id} 不存在")
    return follower


@router.get("", response_class=HTMLResponse)
def follower_list(request: Request, session: DbSession, staff: Reader,
                  state: Annotated[FollowerState | None, Query(), forms.Blank] = None,
                  park_id: Annotated[Id | None, Query(), forms.Blank] = None,
                  after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> HTMLResponse:
    rows = service.list_followers(session=session, state=state, park_id=park_id, after_id=after_id, limit=PAGE + 1)
    full = staff.can(FULL_VIEW)
    items, next_id = keyset_page([FollowerRead.shown(f, bound=n, full=full) for f, n in rows], PAGE)
    kept = {k: v for k, v in {"state": state.value if state else "", "park_id": park_id or ""}.items() if v}
    name = "enterprises/_follower_rows.html" if request.headers.get("HX-Target") == "follower-rows" \
        else "enterprises/followers.html"
    next_page = f"{PATH}?{urlencode({**kept, 'after_id': next_id})}" if next_id else None
    return render(request, name, {"followers": items, "state": state.value if state else "", "park_id": park_id,
                                  "parks": service.list_parks(session=session), "states": STATES, "tab": "followers",
                                  "next_page": next_page}, staff=staff)


@router.get("/{follower_id:int}", response_class=HTMLResponse)
def detail(request: Request, follower: Annotated[Follower, Depends(follower_or_404)], staff: Reader) -> HTMLResponse:
    full = staff.can(FULL_VIEW)
    bound = follower.enterprises
    return render(request, "enterprises/follower.html",
                  {"follower": FollowerRead.shown(follower, bound=len(bound), full=full), "topics": follower.topics,
                   "enterprises": [EnterpriseRead.shown(e, full=full) for e in bound], "states": STATES},
                  staff=staff)
