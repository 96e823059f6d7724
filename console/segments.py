"""分组: the filter builder, whose counts of matching enterprises and reachable followers follow each change
(an htmx partial over the API's own preview), saving a filter as a named segment, the saved segments,
editing and deleting them. The filter is checked by the API's schemas and `segments.parse_filter`."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console import forms, sessions
from console.deps import EDITORS, SUBSCRIPTION_READERS, Editor, Staff, check_csrf, require
from console.templating import render
from core.ids import Id
from staff.deps import DbSession
from staff.service import audit
from subscriptions import reference, segments, service
from subscriptions.models import Segment
from subscriptions.schemas import PreviewResult, SegmentCreate, SegmentFilter, SegmentUpdate

PATH = "/console/segments"
router = APIRouter(prefix=PATH, include_in_schema=False, dependencies=[Depends(check_csrf)])
Reader = Annotated[Staff, Depends(require(SUBSCRIPTION_READERS))]
SAMPLE = 10
KEYS = ("industries", "parks", "sizes", "tags", "topics")


def segment_or_404(segment_id: Id, session: DbSession) -> Segment:
    segment = service.get_segment(session=session, segment_id=segment_id)
    if segment is None:
        raise HTTPException(404, f"分组 {segment_id} 不存在")
    return segment


Found = Annotated[Segment, Depends(segment_or_404)]


class FilterForm(BaseModel):
    """The builder's fields: ticked boxes (sections, parks, sizes, tags, topics), divisions typed as text, the
    same for the excluded side (`ex_`), and 仅已核验."""

    industries: list[str] = []
    industry_codes: str = ""  # divisions (or names), separated by commas or spaces
    parks: list[str] = []
    sizes: list[str] = []
    tags: list[str] = []
    topics: list[str] = []
    ex_industries: list[str] = []
    ex_industry_codes: str = ""
    ex_parks: list[str] = []
    ex_sizes: list[str] = []
    ex_tags: list[str] = []
    ex_topics: list[str] = []
    verified: str = ""

    def criteria(self, prefix: str = "") -> dict[str, list[str]]:
        typed = getattr(self, f"{prefix}industry_codes").replace("，", ",").replace("、", ",").replace(",", " ")
        found = {key: list(getattr(self, prefix + key)) for key in KEYS}
        found["industries"] += typed.split()
        return {key: values for key, values in found.items() if values}

    def as_filter(self) -> dict[str, Any]:
        """The API's filter JSON (SegmentFilter), its values still as typed."""
        data: dict[str, Any] = self.criteria()
        if excluded := self.criteria("ex_"):
            data["exclude"] = excluded
        if self.verified:
            data["verified"] = True
        return data

    @classmethod
    def of(cls, flt: dict[str, Any]) -> FilterForm:
        """A saved filter in the builder's fields: section letters ticked, divisions typed."""
        values: dict[str, Any] = {"verified": "1" if flt.get("verified") else ""}
        for prefix, side in (("", flt), ("ex_", flt.get("exclude") or {})):
            industries = [str(code) for code in side.get("industries", [])]
            values[f"{prefix}industries"] = [c for c in industries if c in reference.sections()]
            values[f"{prefix}industry_codes"] = "，".join(c for c in industries if c not in reference.sections())
            for key in KEYS[1:]:
                values[prefix + key] = [str(v) for v in side.get(key, [])]
        return cls(**values)


class SegmentForm(FilterForm):
    name: str = ""
    description: str = ""


def _filter_errors(exc: segments.SegmentFilterError) -> dict[str, str]:
    """`parse_filter`'s sentences (`exclude.parks: unknown id(s) [7] / 不存在的编号`) at their fields."""
    found: dict[str, str] = {}
    for sentence in exc.errors:
        field, _, message = sentence.partition(": ")
        found.setdefault(field, message.rsplit(" / ", 1)[-1] + "（可能已被删除，请刷新页面）")
    return found


def _preview(session: Session, form: FilterForm) -> tuple[PreviewResult | None, dict[str, str]]:
    flt, errors = forms.parse(SegmentFilter, form.as_filter(), nested=True)
    if flt is None:
        return None, errors
    try:
        return segments.preview(session=session, filter=flt, sample_size=SAMPLE), {}
    except segments.SegmentFilterError as exc:
        return None, _filter_errors(exc)


def _choices(session: Session) -> dict[str, list]:
    return {"parks": service.list_parks(session=session), "tags": service.list_tags(session=session),
            "topics": service.list_topics(session=session, active_only=False)}


def _options(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Each key's boxes as (value, label); deactivated tags and topics stay, so saved filters still show."""
    rows = {key: [(str(r.id), r.name + ("" if getattr(r, "active", True) else "（已停用）")) for r in found]
            for key, found in _choices(session).items()}
    return {"industries": [(code, f"{code} {s.name}") for code, s in reference.sections().items()],
            "sizes": [(code, s.name) for code, s in reference.size_classes().items()], **rows}


def _builder(request: Request, session: Session, staff: Staff, *, form: SegmentForm,
             segment: Segment | None = None, errors: dict[str, str] | None = None,
             status_code: int = 200) -> HTMLResponse:
    result, filter_errors = _preview(session, form)
    errors = {**filter_errors, **(errors or {})}
    excluding = bool(form.criteria("ex_")) or any(key.startswith("exclude.") for key in errors)
    return render(request, "segments/builder.html",
                  {"form": form, "segment": segment, "result": result, "errors": errors, "excluding": excluding,
                   "can_edit": staff.can(EDITORS),
                   "options": _options(session)}, staff=staff, status_code=status_code)


def describe(flt: dict[str, Any], names: dict[str, dict[int, str]]) -> list[str]:
    """A saved filter in words, one line a key: `行业：C 制造业、13 农副食品加工业`."""
    labels = {"industries": "行业", "parks": "园区", "sizes": "规模", "tags": "标签", "topics": "订阅主题"}

    def words(key: str, values: list) -> str:
        if key == "industries":
            return "、".join(f"{c} {reference.sections()[c].name}" if c in reference.sections()
                            else reference.industry_label(c) for c in values)
        if key == "sizes":
            return "、".join(reference.size_classes()[s].name for s in values if s in reference.size_classes())
        return "、".join(names[key].get(v, f"#{v}（已删除）") for v in values)

    lines = [f"{labels[k]}：{words(k, flt[k])}" for k in labels if flt.get(k)]
    lines += [f"排除{labels[k]}：{words(k, v)}" for k, v in (flt.get("exclude") or {}).items() if v and k in labels]
    if flt.get("verified"):
        lines.append("仅经核验的绑定")
    return lines or ["全部可达粉丝"]


@router.get("", response_class=HTMLResponse)
def segment_list(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    names = {key: {row.id: row.name for row in rows} for key, rows in _choices(session).items()}
    items = [{"segment": s, "lines": describe(s.filter, names)} for s in service.list_segments(session=session)]
    return render(request, "segments/list.html", {"items": items, "can_edit": staff.can(EDITORS)}, staff=staff)


@router.get("/count", response_class=HTMLResponse)
def count(request: Request, session: DbSession, staff: Reader,
          form: Annotated[FilterForm, Query()]) -> HTMLResponse:
    """The live count: the builder sends its fields on every change; problems are said in the partial."""
    result, errors = _preview(session, form)
    return render(request, "segments/_count.html", {"result": result, "errors": errors}, staff=staff)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    """The builder; anyone who reads segments may count with it, editors save."""
    return _builder(request, session, staff, form=SegmentForm())


def _errors_at_fields(errors: dict[str, str]) -> dict[str, str]:
    return {key.removeprefix("filter."): message for key, message in errors.items()}


def _name_taken(session: Session, name: str | None, exclude_id: int | None) -> dict[str, str]:
    try:
        service.check_unique(session=session, column=Segment.name, value=name, exclude_id=exclude_id)
    except service.Conflict:
        return {"name": "已有同名分组"}
    return {}


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, form: Annotated[SegmentForm, Form()], session: DbSession, staff: Editor) -> Response:
    body, errors = forms.parse(SegmentCreate, {"name": form.name, "description": form.description,
                                               "filter": form.as_filter()}, nested=True)
    errors = _errors_at_fields(errors) or _name_taken(session, body.name, None)
    if body is None or errors:
        return _builder(request, session, staff, form=form, errors=errors, status_code=422)
    try:
        segment = service.create_segment(session=session, segment_in=body)
    except segments.SegmentFilterError as exc:
        return _builder(request, session, staff, form=form, errors=_filter_errors(exc), status_code=422)
    audit(session=session, actor=staff.user, action="segment.create", target=f"segment:{segment.id}",
          name=segment.name, filter=segment.filter)
    sessions.flash(staff.session.token, f"已保存分组“{segment.name}”")
    return RedirectResponse(f"{PATH}/{segment.id}", status_code=303)


@router.get("/{segment_id:int}", response_class=HTMLResponse)
def detail(request: Request, segment: Found, session: DbSession, staff: Reader) -> HTMLResponse:
    form = SegmentForm(name=segment.name, description=segment.description,
                       **FilterForm.of(segment.filter).model_dump())
    return _builder(request, session, staff, form=form, segment=segment)


@router.post("/{segment_id:int}", response_class=HTMLResponse)
def edit(request: Request, segment: Found, form: Annotated[SegmentForm, Form()], session: DbSession,
         staff: Editor) -> Response:
    body, errors = forms.parse(SegmentUpdate, {"name": form.name, "description": form.description,
                                               "filter": form.as_filter()}, nested=True)
    errors = _errors_at_fields(errors) or _name_taken(session, body.name, segment.id)
    if body is None or errors:
        return _builder(request, session, staff, form=form, segment=segment, errors=errors, status_code=422)
    before = (segment.name, segment.description, segment.filter)
    try:
        service.update_segment(session=session, segment=segment, segment_in=body)
    except segments.SegmentFilterError as exc:
        session.rollback()
        return _builder(request, session, staff, form=form, segment=segment, errors=_filter_errors(exc),
                        status_code=422)
    changed = before != (segment.name, segment.description, segment.filter)
    if changed:
        audit(session=session, actor=staff.user, action="segment.update", target=f"segment:{segment.id}",
              name=segment.name, description=segment.description, filter=segment.filter)
    sessions.flash(staff.session.token, "已保存" if changed else "没有改动")
    return RedirectResponse(f"{PATH}/{segment.id}", status_code=303)


@router.post("/{segment_id:int}/delete")
def delete(segment: Found, session: DbSession, staff: Editor) -> Response:
    name, segment_id = segment.name, segment.id
    try:
        service.delete_segment(session=session, segment=segment)
    except IntegrityError:  # a campaign targets it (the foreign key restricts)
        session.rollback()
        sessions.flash(staff.session.token, f"分组“{name}”已被推送使用，不能删除", "danger")
        return RedirectResponse(f"{PATH}/{segment_id}", status_code=303)
    audit(session=session, actor=staff.user, action="segment.delete", target=f"segment:{segment_id}", name=name)
    sessions.flash(staff.session.token, f"已删除分组“{name}”")
    return RedirectResponse(PATH, status_code=303)
