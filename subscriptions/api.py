"""Staff API for topics, enterprise tags, parks, enterprises (import/export), segments, followers and
the WeChat tag mirror. Editors (and admins) write; analysts read, with contacts and credit codes masked."""
from __future__ import annotations

import os
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from wechatpy.exceptions import WeChatClientException

from core.ids import MAX_ID, Id
from staff.schemas import ImportJobRead
from core.masking import mask_credit_code
from core.problems import Problem
from core.text import QueryText
from staff.deps import CurrentUser, DbSession, require
from staff.models import FULL_VIEW, Role, StaffUser
from staff import uploads
from staff.service import audit
from subscriptions import flows, importer, reference, segments, service, tags
from subscriptions.models import Enterprise, EnterpriseTag, Follower, FollowerState, Park, Segment, Topic
from subscriptions.schemas import (
    EnterpriseBrief,
    EnterpriseCreate,
    EnterprisePage,
    EnterpriseRead,
    EnterpriseUpdate,
    FollowerDetail,
    FollowerPage,
    FollowerRead,
    ParkCreate,
    ParkRead,
    ParkUpdate,
    PreviewRequest,
    PreviewResult,
    SegmentCreate,
    SegmentRead,
    SegmentUpdate,
    TagCreate,
    TagRead,
    TagSyncQueued,
    TagUpdate,
    TopicCreate,
    TopicRead,
    TopicUpdate,
    WeChatTagRead,
)
from wechat.client import get_client

router = APIRouter(prefix="/api")
Reader = Annotated[StaffUser, Depends(require(Role.editor, Role.analyst))]
Editor = Annotated[StaffUser, Depends(require(Role.editor))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_404 = {404: {"model": Problem, "description": "not found"}}
_409 = {409: {"model": Problem, "description": "name or credit code taken"}}


def _found(obj, what: str, id_: int):
    if obj is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {id_} not found")
    return obj


def topic_or_404(topic_id: Id, session: DbSession, _user: CurrentUser) -> Topic:
    return _found(service.get_topic(session=session, topic_id=topic_id), "topic", topic_id)


def tag_or_404(tag_id: Id, session: DbSession, _user: CurrentUser) -> EnterpriseTag:
    return _found(service.get_tag(session=session, tag_id=tag_id), "tag", tag_id)


def park_or_404(park_id: Id, session: DbSession, _user: CurrentUser) -> Park:
    return _found(service.get_park(session=session, park_id=park_id), "park", park_id)


def enterprise_or_404(enterprise_id: Id, session: DbSession, _user: CurrentUser) -> Enterprise:
    return _found(service.get_enterprise(session=session, enterprise_id=enterprise_id), "enterprise", enterprise_id)


def segment_or_404(segment_id: Id, session: DbSession, _user: CurrentUser) -> Segment:
    return _found(service.get_segment(session=session, segment_id=segment_id), "segment", segment_id)


def follower_or_404(follower_id: Id, session: DbSession, _user: CurrentUser) -> Follower:
    return _found(service.get_follower(session=session, follower_id=follower_id), "follower", follower_id)


def _unique(session, column, value, exclude_id: int | None = None) -> None:
    try:
        service.check_unique(session=session, column=column, value=value, exclude_id=exclude_id)
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def _changes(body) -> dict:
    return body.model_dump(mode="json", exclude_unset=True)


# --- topics ------------------------------------------------------------------------------------

@router.get("/topics", response_model=list[TopicRead], tags=["topics"], summary="List policy topics")
def list_topics(_user: Reader, session: DbSession, include_inactive: bool = False) -> list[Topic]:
    return service.list_topics(session=session, active_only=not include_inactive)


@router.post("/topics", response_model=TopicRead, status_code=201, tags=["topics"], responses=_409,
             summary="Create a topic")
def create_topic(user: Editor, body: TopicCreate, session: DbSession) -> Topic:
    _unique(session, Topic.name, body.name)
    topic = service.create_topic(session=session, topic_in=body)
    audit(session=session, actor=user, action="topic.create", target=f"topic:{topic.id}", name=topic.name)
    return topic


@router.patch("/topics/{topic_id}", response_model=TopicRead, tags=["topics"], responses={**_404, **_409},
              summary="Update a topic (name, description, order in the chat, active)")
def update_topic(user: Editor, body: TopicUpdate, topic: Annotated[Topic, Depends(topic_or_404)],
                 session: DbSession) -> Topic:
    _unique(session, Topic.name, body.name, topic.id)
    service.update_topic(session=session, topic=topic, topic_in=body)
    audit(session=session, actor=user, action="topic.update", target=f"topic:{topic.id}", **_changes(body))
    return topic


@router.delete("/topics/{topic_id}", response_model=TopicRead, tags=["topics"], responses=_404,
               summary="Deactivate a topic (subscriptions to it are kept; the chat no longer offers it)")
def deactivate_topic(user: Editor, topic: Annotated[Topic, Depends(topic_or_404)], session: DbSession) -> Topic:
    service.update_topic(session=session, topic=topic, topic_in=TopicUpdate(active=False))
    audit(session=session, actor=user, action="topic.deactivate", target=f"topic:{topic.id}")
    return topic


# --- enterprise tags ---------------------------------------------------------------------------

@router.get("/enterprise-tags", response_model=list[TagRead], tags=["enterprise tags"],
            summary="List enterprise tags (专精特新, 高新技术企业, ...)")
def list_tags(_user: Reader, session: DbSession, include_inactive: bool = False) -> list[EnterpriseTag]:
    return service.list_tags(session=session, active_only=not include_inactive)


@router.post("/enterprise-tags", response_model=TagRead, status_code=201, tags=["enterprise tags"],
             responses=_409, summary="Create an enterprise tag")
def create_tag(user: Editor, body: TagCreate, session: DbSession) -> EnterpriseTag:
    _unique(session, EnterpriseTag.name, body.name)
    tag = service.create_tag(session=session, tag_in=body)
    audit(session=session, actor=user, action="enterprise_tag.create", target=f"enterprise_tag:{tag.id}",
          name=tag.name)
    return tag


@router.patch("/enterprise-tags/{tag_id}", response_model=TagRead, tags=["enterprise tags"],
              responses={**_404, **_409}, summary="Update an enterprise tag")
def update_tag(user: Editor, body: TagUpdate, tag: Annotated[EnterpriseTag, Depends(tag_or_404)],
               session: DbSession) -> EnterpriseTag:
    _unique(session, EnterpriseTag.name, body.name, tag.id)
    service.update_tag(session=session, tag=tag, tag_in=body)
    audit(session=session, actor=user, action="enterprise_tag.update", target=f"enterprise_tag:{tag.id}",
          **_changes(body))
    return tag


@router.delete("/enterprise-tags/{tag_id}", response_model=TagRead, tags=["enterprise tags"], responses=_404,
               summary="Deactivate an enterprise tag (enterprises keep it; imports and edits may no longer use it)")
def deactivate_tag(user: Editor, tag: Annotated[EnterpriseTag, Depends(tag_or_404)], session: DbSession) -> EnterpriseTag:
    service.update_tag(session=session, tag=tag, tag_in=TagUpdate(active=False))
    audit(session=session, actor=user, action="enterprise_tag.deactivate", target=f"enterprise_tag:{tag.id}")
    return tag


# --- parks -------------------------------------------------------------------------------------

@router.get("/parks", response_model=list[ParkRead], tags=["parks"], summary="List industrial parks")
def list_parks(_user: Reader, session: DbSession) -> list[Park]:
    return service.list_parks(session=session)


@router.get("/parks/{park_id}", response_model=ParkRead, tags=["parks"], responses=_404, summary="Get a park")
def get_park(_user: Reader, park: Annotated[Park, Depends(park_or_404)]) -> Park:
    return park


@router.post("/parks", response_model=ParkRead, status_code=201, tags=["parks"], responses=_409,
             summary="Create a park")
def create_park(user: Editor, body: ParkCreate, session: DbSession) -> Park:
    _unique(session, Park.name, body.name)
    _unique(session, Park.qr_scene, body.qr_scene)
    park = service.create_park(session=session, park_in=body)
    audit(session=session, actor=user, action="park.create", target=f"park:{park.id}", name=park.name)
    return park


@router.patch("/parks/{park_id}", response_model=ParkRead, tags=["parks"], responses={**_404, **_409},
              summary="Update a park (a new QR scene drops the park's old QR code)")
def update_park(user: Editor, body: ParkUpdate, park: Annotated[Park, Depends(park_or_404)],
                session: DbSession) -> Park:
    _unique(session, Park.name, body.name, park.id)
    _unique(session, Park.qr_scene, body.qr_scene, park.id)
    service.update_park(session=session, park=park, park_in=body)
    audit(session=session, actor=user, action="park.update", target=f"park:{park.id}", **_changes(body))
    return park


@router.delete("/parks/{park_id}", status_code=204, tags=["parks"], responses=_404,
               summary="Delete a park (its enterprises and followers keep their data without a park)")
def delete_park(user: Editor, park: Annotated[Park, Depends(park_or_404)], session: DbSession) -> Response:
    audit(session=session, actor=user, action="park.delete", target=f"park:{park.id}", name=park.name)
    service.delete_park(session=session, park=park)
    return Response(status_code=204)


@router.post("/parks/{park_id}/qrcode", response_model=ParkRead, tags=["parks"],
             responses={**_404, 502: {"model": Problem, "description": "WeChat refused or did not answer"}},
             summary="Make the park's permanent QR code at WeChat (QR_LIMIT_STR_SCENE)",
             description="Whoever scans it is recorded as belonging to the park. A park without a scene "
                         "gets `park-<id>`. Calling again returns the code already made.")
def create_park_qrcode(user: Editor, park: Annotated[Park, Depends(park_or_404)], session: DbSession) -> Park:
    try:
        flows.create_park_qrcode(session=session, client=get_client(), park=park)
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except WeChatClientException as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY,
                            f"WeChat qrcode/create failed: {exc.errcode} {exc.errmsg}") from None
    audit(session=session, actor=user, action="park.qrcode", target=f"park:{park.id}", scene=park.qr_scene)
    return park


# --- enterprises -------------------------------------------------------------------------------

def _references(fn, **kwargs):
    try:
        return fn(**kwargs)
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.InvalidReference as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("/enterprises", response_model=EnterprisePage, tags=["enterprises"],
            summary="List enterprises (keyset paging by id; contacts masked for analysts)")
def list_enterprises(
        user: Reader, session: DbSession,
        q: Annotated[QueryText | None, Query(description="part of the name, or a whole credit code")] = None,
        industry: Annotated[QueryText | None, Query(description="section letter A-T or division 01-97")] = None,
        park_id: Id | None = None,
        size: Annotated[QueryText | None, Query(description="大, 中, 小 or 微")] = None,
        tag_id: Id | None = None,
        bound: Annotated[bool | None, Query(description="true: some follower is bound to it; false: none is")] = None,
        after_id: Annotated[int, Query(ge=0, le=MAX_ID, description="the previous page's next_after_id")] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> EnterprisePage:
    try:
        rows = service.list_enterprises(session=session, q=q, industry=industry, park_id=park_id, size=size,
                                        tag_id=tag_id, bound=bound, after_id=after_id, limit=limit)
    except KeyError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown industry code {industry!r}") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    full = user.role in FULL_VIEW
    return EnterprisePage(items=[EnterpriseRead.shown(e, full=full) for e in rows],
                          next_after_id=rows[-1].id if len(rows) == limit else None)


@router.get("/enterprises/export", tags=["enterprises"],
            responses={200: {"content": {XLSX: {}}, "description": "every enterprise, import columns"},
                       403: {"model": Problem, "description": "only admins and editors may export (contacts, credit codes)"}},
            summary="Download every enterprise as .xlsx (the import's columns, contacts in full)")
def export_enterprises(user: Editor, session: DbSession) -> FileResponse:
    fd, name = tempfile.mkstemp(suffix=".xlsx", prefix="enterprises-")
    os.close(fd)
    count = importer.export_enterprises(session=session, path_or_file=name)
    audit(session=session, actor=user, action="enterprise.export", rows=count)
    return FileResponse(name, media_type=XLSX, filename="enterprises.xlsx",
                        background=BackgroundTask(os.unlink, name))


@router.post("/enterprises/import", response_model=ImportJobRead, status_code=202, tags=["enterprises"],
             responses={400: {"model": Problem, "description": "the file cannot be read; nothing was stored"},
                        **uploads.FILE_REFUSALS},
             summary="Upload an .xlsx, .xls or .csv of enterprises (upsert by credit code) to import in the background",
             description="Columns 统一社会信用代码, 企业名称, 行业代码 (code or Chinese name), 园区, 规模, 标签, 联系人, "
                         "联系电话; other columns are named in the report and ignored. Answers 202 with the import "
                         "job; follow its status_url. Good rows are stored; bad rows are counted by reason, the "
                         "first listed, and all downloadable from the report's bad_rows_url.")
def import_enterprises(user: Editor, file: Annotated[UploadFile, File(description=".xlsx, .xls or .csv")],
                       session: DbSession, response: Response) -> ImportJobRead:
    job = uploads.queue_import("enterprises", file, session=session, user=user,
                               unreadable=status.HTTP_400_BAD_REQUEST)
    return uploads.accepted(job, response)


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseRead, tags=["enterprises"],
            responses=_404, summary="Get an enterprise")
def get_enterprise(user: Reader, enterprise: Annotated[Enterprise, Depends(enterprise_or_404)]) -> EnterpriseRead:
    return EnterpriseRead.shown(enterprise, full=user.role in FULL_VIEW)


@router.post("/enterprises", response_model=EnterpriseRead, status_code=201, tags=["enterprises"],
             responses=_409, summary="Create an enterprise")
def create_enterprise(user: Editor, body: EnterpriseCreate, session: DbSession) -> EnterpriseRead:
    enterprise = _references(service.add_enterprise, session=session, enterprise_in=body)
    audit(session=session, actor=user, action="enterprise.create", target=f"enterprise:{enterprise.id}")
    return EnterpriseRead.shown(enterprise, full=True)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterpriseRead, tags=["enterprises"],
              responses=_404, summary="Update an enterprise (the credit code does not change)")
def update_enterprise(user: Editor, body: EnterpriseUpdate,
                      enterprise: Annotated[Enterprise, Depends(enterprise_or_404)], session: DbSession) -> EnterpriseRead:
    _references(service.update_enterprise, session=session, enterprise=enterprise, enterprise_in=body)
    # field names only: contact values are personal data and stay out of the audit log
    audit(session=session, actor=user, action="enterprise.update", target=f"enterprise:{enterprise.id}",
          fields=sorted(body.model_fields_set))
    return EnterpriseRead.shown(enterprise, full=True)


@router.delete("/enterprises/{enterprise_id}", status_code=204, tags=["enterprises"], responses=_404,
               summary="Delete an enterprise (followers bound to it lose the binding)")
def delete_enterprise(user: Editor, enterprise: Annotated[Enterprise, Depends(enterprise_or_404)],
                      session: DbSession) -> Response:
    audit(session=session, actor=user, action="enterprise.delete", target=f"enterprise:{enterprise.id}",
          credit_code=mask_credit_code(enterprise.credit_code))
    service.delete_enterprise(session=session, enterprise=enterprise)
    return Response(status_code=204)


# --- segments ----------------------------------------------------------------------------------

def _filter_errors(exc: segments.SegmentFilterError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"errors": exc.errors})


@router.get("/segments", response_model=list[SegmentRead], tags=["segments"], summary="List saved segments")
def list_segments(_user: Reader, session: DbSession) -> list[Segment]:
    return service.list_segments(session=session)


@router.post("/segments/preview", response_model=PreviewResult, tags=["segments"],
             responses={**_404, 422: {"model": Problem, "description": "bad filter: `detail.errors` lists every problem"}},
             summary="Count the enterprises and reachable followers of a filter or saved segment, with a sample",
             description=segments.__doc__)
def preview_segment(_user: Reader, body: PreviewRequest, session: DbSession) -> PreviewResult:
    if (body.filter is None) == (body.segment_id is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"errors": ["give either `filter` or `segment_id`"]})
    flt = body.filter
    if body.segment_id is not None:
        flt = segment_or_404(body.segment_id, session, _user).filter
    try:
        return segments.preview(session=session, filter=flt, sample_size=body.sample_size)
    except segments.SegmentFilterError as exc:
        raise _filter_errors(exc) from None


@router.get("/segments/{segment_id}", response_model=SegmentRead, tags=["segments"], responses=_404,
            summary="Get a saved segment")
def get_segment(_user: Reader, segment: Annotated[Segment, Depends(segment_or_404)]) -> Segment:
    return segment


@router.post("/segments", response_model=SegmentRead, status_code=201, tags=["segments"], responses=_409,
             summary="Save a segment under a name")
def create_segment(user: Editor, body: SegmentCreate, session: DbSession) -> Segment:
    _unique(session, Segment.name, body.name)
    try:
        segment = service.create_segment(session=session, segment_in=body)
    except segments.SegmentFilterError as exc:
        raise _filter_errors(exc) from None
    audit(session=session, actor=user, action="segment.create", target=f"segment:{segment.id}",
          name=segment.name, filter=segment.filter)
    return segment


@router.patch("/segments/{segment_id}", response_model=SegmentRead, tags=["segments"],
              responses={**_404, **_409}, summary="Rename a saved segment or change its filter")
def update_segment(user: Editor, body: SegmentUpdate, segment: Annotated[Segment, Depends(segment_or_404)],
                   session: DbSession) -> Segment:
    _unique(session, Segment.name, body.name, segment.id)
    try:
        service.update_segment(session=session, segment=segment, segment_in=body)
    except segments.SegmentFilterError as exc:
        raise _filter_errors(exc) from None
    audit(session=session, actor=user, action="segment.update", target=f"segment:{segment.id}",
          **_changes(body))
    return segment


@router.delete("/segments/{segment_id}", status_code=204, tags=["segments"], responses=_404,
               summary="Delete a saved segment")
def delete_segment(user: Editor, segment: Annotated[Segment, Depends(segment_or_404)], session: DbSession) -> Response:
    audit(session=session, actor=user, action="segment.delete", target=f"segment:{segment.id}", name=segment.name)
    service.delete_segment(session=session, segment=segment)
    return Response(status_code=204)


# --- followers ---------------------------------------------------------------------------------

@router.get("/followers", response_model=FollowerPage, tags=["followers"],
            summary="List followers with state, park and how many enterprises they are bound to")
def list_followers(user: Reader, session: DbSession, state: FollowerState | None = None,
                   park_id: Id | None = None, after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> FollowerPage:
    rows = service.list_followers(session=session, state=state, park_id=park_id, after_id=after_id, limit=limit)
    return FollowerPage(items=[FollowerRead.shown(f, bound=n, full=user.role in FULL_VIEW) for f, n in rows],
                        next_after_id=rows[-1][0].id if len(rows) == limit else None)


@router.get("/followers/{follower_id}", response_model=FollowerDetail, tags=["followers"], responses=_404,
            summary="Get a follower with their subscriptions and bound enterprises")
def get_follower(user: Reader, follower: Annotated[Follower, Depends(follower_or_404)]) -> FollowerDetail:
    bound = follower.enterprises
    return FollowerDetail(
        **FollowerRead.shown(follower, bound=len(bound), full=user.role in FULL_VIEW).model_dump(),
        qr_scene=follower.qr_scene,
        subscriptions=[TopicRead.model_validate(t) for t in follower.topics],
        bound_enterprises=[EnterpriseBrief(
            id=e.id, name=e.name, credit_code_masked=mask_credit_code(e.credit_code), industry_code=e.industry_code,
            industry_name=reference.industry_label(e.industry_code), park=e.park.name if e.park else None,
            size=e.size) for e in bound])


# --- WeChat tags -------------------------------------------------------------------------------

@router.get("/wechat-tags", response_model=list[WeChatTagRead], tags=["wechat tags"],
            summary="The WeChat tags mirroring parks and industry sections, with member counts")
def list_wechat_tags(_user: Reader, session: DbSession) -> list[WeChatTagRead]:
    counts = service.wechat_tag_member_counts(session=session)
    return [WeChatTagRead.model_validate(row).model_copy(update={"members": counts.get(row.id, 0)})
            for row in service.list_wechat_tags(session=session)]


@router.post("/wechat-tags/sync", response_model=TagSyncQueued, status_code=202, tags=["wechat tags"],
             summary="Queue a WeChat tag sync now (it also runs hourly); returns the last sync's report")
def sync_wechat_tags(user: Editor, session: DbSession) -> TagSyncQueued:
    from subscriptions.tasks import sync_wechat_tags as task  # the Celery app, only where it is needed

    audit(session=session, actor=user, action="wechat_tags.sync")
    task.delay()
    return TagSyncQueued(last_report=tags.last_report())
