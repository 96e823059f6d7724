"""Staff API of the policy library: policies, interpretations, history, FAQ, import and export.
Editors write, analysts (and every other role) read."""
from __future__ import annotations

import io
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from core.ids import MAX_ID, Id
from staff.schemas import ImportJobRead
from core.text import QueryText
from policies import faq, faq_import, service
from policies.models import FaqEntry, Policy, PolicyStatus
from policies.schemas import (
    Completeness,
    FaqCreate,
    FaqRead,
    FaqUpdate,
    InterpretationRead,
    InterpretationUpdate,
    PolicyBrief,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    RevisionRead,
)
from staff.deps import DbSession, require
from staff.models import Role, StaffUser
from staff import uploads
from staff.service import audit

router = APIRouter(prefix="/api", tags=["policies"])
Editor = Annotated[StaffUser, Depends(require(Role.editor))]
Reader = Annotated[StaffUser, Depends(require(Role.editor, Role.reviewer, Role.analyst))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def policy_or_404(policy_id: Id, session: DbSession, _user: Reader) -> Policy:
    policy = service.get_policy(session=session, policy_id=policy_id)
    if policy is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"policy {policy_id} not found")
    return policy


def entry_or_404(entry_id: Id, session: DbSession, _user: Reader) -> FaqEntry:
    entry = faq.get(session=session, entry_id=entry_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"FAQ entry {entry_id} not found")
    return entry


PolicyFound = Annotated[Policy, Depends(policy_or_404)]
EntryFound = Annotated[FaqEntry, Depends(entry_or_404)]


def _conflict(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


# --- policies ------------------------------------------------------------------------------------

@router.get("/policies", response_model=list[PolicyBrief])
def list_policies(session: DbSession, _user: Reader, response: Response, q: QueryText | None = None,
                  status_: Annotated[PolicyStatus | None, Query(alias="status")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[PolicyBrief]:
    total, page = service.list_policies(session=session, q=q, status=status_, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [PolicyBrief.model_validate(p) for p in page]


@router.post("/policies", response_model=PolicyRead, status_code=201)
def create_policy(body: PolicyCreate, session: DbSession, user: Editor) -> PolicyRead:
    try:
        policy = service.create_policy(session=session, policy_in=body, actor_id=user.id)
    except service.PolicyError as exc:
        raise _conflict(exc) from None
    audit(session=session, actor=user, action="policy.create", target=f"policy:{policy.id}",
          doc_number=policy.doc_number)
    return PolicyRead.model_validate(policy)


@router.post("/policies/import", response_model=ImportJobRead, status_code=202, responses=uploads.FILE_REFUSALS,
             summary="Import policies (.xlsx, .xls or .json) in the background; with any bad row nothing is written",
             description="Answers 202 with the import job; follow its status_url for progress and the report.")
def import_policies(session: DbSession, user: Editor, file: Annotated[UploadFile, File()],
                    response: Response) -> ImportJobRead:
    job = uploads.queue_import("policies", file, session=session, user=user,
                               unreadable=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return uploads.accepted(job, response)


@router.get("/policies/{policy_id}", response_model=PolicyRead)
def read_policy(policy: PolicyFound) -> PolicyRead:
    return PolicyRead.model_validate(policy)


@router.patch("/policies/{policy_id}", response_model=PolicyRead)
def update_policy(body: PolicyUpdate, policy: PolicyFound, session: DbSession, user: Editor) -> PolicyRead:
    try:
        changes = service.update_policy(session=session, policy=policy, policy_in=body, actor_id=user.id)
    except service.PolicyError as exc:
        raise _conflict(exc) from None
    if changes:
        audit(session=session, actor=user, action="policy.update", target=f"policy:{policy.id}",
              fields=sorted(changes))
    return PolicyRead.model_validate(policy)


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy: PolicyFound, session: DbSession, user: Editor) -> Response:
    audit(session=session, actor=user, action="policy.delete", target=f"policy:{policy.id}",
          title=policy.title, doc_number=policy.doc_number)
    service.delete_policy(session=session, policy=policy)
    return Response(status_code=204)


@router.get("/policies/{policy_id}/interpretation", response_model=InterpretationRead)
def read_interpretation(policy: PolicyFound) -> InterpretationRead:
    if policy.interpretation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"policy {policy.id} has no interpretation yet")
    return InterpretationRead.model_validate(policy.interpretation)


@router.put("/policies/{policy_id}/interpretation", response_model=InterpretationRead,
            summary="Set parts of the interpretation (made when missing); omitted parts stay")
def set_interpretation(body: InterpretationUpdate, policy: PolicyFound, session: DbSession,
                       user: Editor) -> InterpretationRead:
    changes = service.set_interpretation(session=session, policy=policy, interpretation_in=body, actor_id=user.id)
    if policy.interpretation is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an interpretation needs at least one part")
    if changes:
        audit(session=session, actor=user, action="interpretation.update", target=f"policy:{policy.id}",
              fields=sorted(changes))
    return InterpretationRead.model_validate(policy.interpretation)


@router.get("/policies/{policy_id}/completeness", response_model=Completeness,
            summary="Whether the interpretation has all eight parts, and which are missing")
def completeness(policy: PolicyFound) -> Completeness:
    return Completeness(**policy.completeness)


@router.get("/policies/{policy_id}/history", response_model=list[RevisionRead])
def policy_history(policy: PolicyFound, session: DbSession) -> list[RevisionRead]:
    return [RevisionRead.model_validate(r) for r in service.history(session=session, policy_id=policy.id)]


# --- FAQ -----------------------------------------------------------------------------------------

@router.get("/faq", response_model=list[FaqRead])
def list_faq(session: DbSession, _user: Reader, response: Response, q: QueryText | None = None,
             category: QueryText | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
             offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[FaqRead]:
    total, page = faq.search(session=session, q=q, category=category, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [FaqRead.model_validate(e) for e in page]


@router.post("/faq", response_model=FaqRead, status_code=201)
def create_faq(body: FaqCreate, session: DbSession, user: Editor) -> FaqRead:
    try:
        entry = faq.create(session=session, entry_in=body, actor_id=user.id)
    except faq.FaqError as exc:
        raise _conflict(exc) from None
    audit(session=session, actor=user, action="faq.create", target=f"faq:{entry.id}")
    return FaqRead.model_validate(entry)


@router.get("/faq/export", summary="Every FAQ entry as .xlsx, in the import's columns", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "every FAQ entry, import columns"}})
def export_faq(session: DbSession, _user: Reader) -> StreamingResponse:
    with tempfile.SpooledTemporaryFile(max_size=8 * 2**20) as tmp:
        faq_import.export_faq(session=session, path_or_file=tmp)
        tmp.seek(0)
        data = tmp.read()
    return StreamingResponse(io.BytesIO(data), media_type=XLSX,
                             headers={"Content-Disposition": "attachment; filename=\"faq.xlsx\""})


@router.post("/faq/import", response_model=ImportJobRead, status_code=202, responses=uploads.FILE_REFUSALS,
             summary="Import FAQ entries (.xlsx, .xls or .csv) in the background; with any bad row nothing is written",
             description="Answers 202 with the import job; follow its status_url for progress and the report.")
def import_faq(session: DbSession, user: Editor, file: Annotated[UploadFile, File()],
               response: Response) -> ImportJobRead:
    job = uploads.queue_import("faq", file, session=session, user=user,
                               unreadable=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return uploads.accepted(job, response)


@router.get("/faq/{entry_id}", response_model=FaqRead)
def read_faq(entry: EntryFound) -> FaqRead:
    return FaqRead.model_validate(entry)


@router.patch("/faq/{entry_id}", response_model=FaqRead)
def update_faq(body: FaqUpdate, entry: EntryFound, session: DbSession, user: Editor) -> FaqRead:
    try:
        changes = faq.update(session=session, entry=entry, entry_in=body)
    except faq.FaqError as exc:
        raise _conflict(exc) from None
    if changes:
        audit(session=session, actor=user, action="faq.update", target=f"faq:{entry.id}", fields=sorted(changes))
    return FaqRead.model_validate(entry)


@router.delete("/faq/{entry_id}", status_code=204)
def delete_faq(entry: EntryFound, session: DbSession, user: Editor) -> Response:
    audit(session=session, actor=user, action="faq.delete", target=f"faq:{entry.id}", question=entry.question)
    faq.delete(session=session, entry=entry)
    return Response(status_code=204)
