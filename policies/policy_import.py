"""Policy import from .xlsx (Chinese headers) or a JSON list (Chinese headers or the API's field names,
the interpretation flat or nested under "interpretation").

Rows are upserted by 文号. A file with any bad row writes nothing; importing the same file twice changes
nothing the second time; an empty cell keeps what the policy has. 状态 matters for 已修订 (with 修订后文号) and
已废止; 现行有效, 尚未施行 and 已失效 follow the dates whatever the cell says. Each policy changed gets revision rows
like an edit in the staff API.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import sheet_limits, tabular
from core.imports import ImportReport, RowError, control_character_errors
from core.settings import get_settings
from policies import content  # noqa: F401 - bumps the content version after commits
from policies import service
from policies.models import PARTS, Policy, PolicyStatus
from policies.schemas import InterpretationUpdate, PolicyCreate, PolicyUpdate
from subscriptions import reference

Progress = Callable[[int, int], None]  # (rows done, rows in all)
FORMATS = ("xlsx", "xls", "json")

COLUMNS: dict[str, str] = {  # header -> field, in the order of a template
    "标题": "title",
    "文号": "doc_number",
    "发文机关": "issuer",
    "发布日期": "issued_on",
    "施行日期": "effective_on",
    "失效日期": "expires_on",
    "状态": "status",
    "修订后文号": "superseded_by",
    "主题": "topics",
    "行业": "industries",
    "园区": "parks",
    "企业标签": "tags",
    "来源": "source_url",
    "正文": "body",
    **{label: field for field, label in PARTS.items()},
    "图解": "image_url",
    "视频": "video_url",
}
HEADER = {f: h for h, f in COLUMNS.items()}
ALIASES = {f: f for f in COLUMNS.values()} | COLUMNS  # JSON may use the field names too
REQUIRED = ("title", "doc_number")
DATES = ("issued_on", "effective_on", "expires_on")
LISTS = ("topics", "industries", "parks", "tags")
LIMITS = {"title": 300, "doc_number": 100, "issuer": 200, "source_url": 1000, "image_url": 1000,
          "video_url": 1000, "superseded_by": 100}
INTERPRETATION = (*PARTS, "image_url", "video_url")
STATUS_WORDS = {
    **{s.value: s for s in PolicyStatus},
    "现行有效": PolicyStatus.in_force, "有效": PolicyStatus.in_force, "施行": PolicyStatus.in_force,
    "尚未施行": PolicyStatus.pending, "未生效": PolicyStatus.pending, "未施行": PolicyStatus.pending,
    "已失效": PolicyStatus.expired, "失效": PolicyStatus.expired,
    "已修订": PolicyStatus.revised, "修订": PolicyStatus.revised, "已修改": PolicyStatus.revised,
    "已废止": PolicyStatus.repealed, "废止": PolicyStatus.repealed,
}


def import_policies(*, session: Session, path: tabular.Source, progress: Progress | None = None,
                    fmt: str | None = None, actor_id: int | None = None, via: str = "import") -> ImportReport:
    """Validate every row, then, if none is bad, upsert them all by 文号. Flushes, does not commit.

    Raises tabular.FileError when the file as a whole cannot be used, and service.PolicyError (the caller
    rolls back) for the rare conflict only visible while writing, such as a cycle of revisions."""
    fmt = fmt or tabular.file_format(path, FORMATS)
    max_rows = get_settings().import_max_rows_policies
    if fmt == "json":
        columns, items = _json(path, max_rows)
    else:
        with tabular.read(path, fmt, COLUMNS, max_rows=max_rows) as sheet:
            columns, items = sheet.columns, list(sheet.rows)
    report = ImportReport(rows=len(items))
    report.header(columns, ALIASES)
    known = {ALIASES[c] for c in columns if c in ALIASES}
    if missing := [HEADER[f] for f in REQUIRED if f not in known]:  # JSON may name them in English
        raise tabular.FileError(f"表头缺少列：{'、'.join(missing)}（可用的列：{'、'.join(COLUMNS)}）")

    rows = [(number, {ALIASES[k]: v for k, v in cells.items() if k in ALIASES}) for number, cells in items]
    existing = {p.doc_number: p for p in session.scalars(select(Policy).where(Policy.doc_number.is_not(None)))}
    names = {kind: _known_names(session, kind, rows) for kind in ("topics", "parks", "tags")}
    in_file = {tabular.cell(r.get("doc_number")): n for n, r in rows if tabular.cell(r.get("doc_number"))}
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for (number, cells), (_, original) in zip(rows, items, strict=True):
        errors: list[RowError] = []
        values = _validate(number, cells, names, existing, in_file, seen, errors)
        report.reject(number, original, errors)
        if values is not None:
            parsed.append((number, values))
    if report.rejected_rows:
        return report

    changed: dict[str, bool | None] = {}  # doc number -> None created, True updated, False unchanged
    total = 2 * len(parsed)
    for done, (number, values) in enumerate(parsed, start=1):
        _store_first(session, values, existing, changed, number, actor_id, via)
        if progress and (done % 20 == 0):
            progress(done, total)
    for done, (number, values) in enumerate(parsed, start=len(parsed) + 1):
        if values.get("superseded_by"):
            policy = existing[values["doc_number"]]
            update = PolicyUpdate(superseded_by_id=existing[values["superseded_by"]].id,
                                  status=values.get("status") or PolicyStatus.revised)
            moved = _guarded(number, lambda: service.update_policy(
                session=session, policy=policy, policy_in=update, actor_id=actor_id, via=via))
            if changed[values["doc_number"]] is False and moved:
                changed[values["doc_number"]] = True
        if progress and (done % 20 == 0 or done == total):
            progress(done, total)
    report.created = sum(1 for v in changed.values() if v is None)
    report.updated = sum(1 for v in changed.values() if v is True)
    report.unchanged = sum(1 for v in changed.values() if v is False)
    session.flush()
    return report


def _json(path: tabular.Source, max_rows: int) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """The columns and the items (numbered from 1) of a JSON list, a nested interpretation made flat."""
    if isinstance(path, str | Path):
        sheet_limits.check_size(Path(path))
    with tabular.opened(path) as raw:
        data = raw.read()
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise tabular.FileError(f"JSON 格式错误：{exc}") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise tabular.FileError("JSON 文件应为对象的列表 [{...}, ...]")
    if len(items) > max_rows:
        raise tabular.LimitExceeded(f"数据超过 {max_rows} 条（本类导入的上限），请拆分为多个文件后分别导入")
    rows = []
    for number, item in enumerate(items, start=1):
        flat = dict(item)
        nested = flat.pop("interpretation", None) or flat.pop("解读", None)
        if isinstance(nested, dict):
            flat.update(nested)
        rows.append((number, flat))
    return list(dict.fromkeys(k for _, flat in rows for k in flat)), rows


def _guarded(number: int, write: Callable[[], Any]) -> Any:
    try:
        return write()
    except service.PolicyError as exc:
        raise service.PolicyError(f"第{number}行：{exc}") from exc


def _store_first(session: Session, values: dict[str, Any], existing: dict[str, Policy], changed: dict[str, Any],
                 number: int, actor_id: int | None, via: str) -> None:
    """Create or update the policy and its interpretation, all but the link to a successor."""
    fields = {k: v for k, v in values.items() if k not in INTERPRETATION and k != "superseded_by"}
    if values.get("superseded_by"):
        fields.pop("status", None)  # set with the successor in the second pass
    interp = InterpretationUpdate(**{k: v for k, v in values.items() if k in INTERPRETATION})
    policy = existing.get(values["doc_number"])
    if policy is None:
        policy = _guarded(number, lambda: service.create_policy(
            session=session, policy_in=PolicyCreate(**fields), actor_id=actor_id, via=via))
        existing[values["doc_number"]] = policy
        changed[values["doc_number"]] = None  # created
        service.set_interpretation(session=session, policy=policy, interpretation_in=interp, actor_id=actor_id,
                                   via=via)
        return
    a = _guarded(number, lambda: service.update_policy(session=session, policy=policy,
                                                       policy_in=PolicyUpdate(**fields), actor_id=actor_id,
                                                       via=via))
    b = service.set_interpretation(session=session, policy=policy, interpretation_in=interp, actor_id=actor_id,
                                   via=via)
    changed[values["doc_number"]] = bool(a or b)


def _known_names(session: Session, kind: str, rows: list[tuple[int, dict[str, Any]]]) -> set[str]:
    wanted = {n for _, r in rows for n in tabular.split_list(r.get(kind))}
    found, _unknown = service.resolve_names(session=session, kind=kind, names=sorted(wanted))
    return {row.name for row in found}


def _validate(number: int, cells: dict[str, Any], names: dict[str, set[str]], existing: dict[str, Policy],
              in_file: dict[str, int], seen: dict[str, int], errors: list[RowError]) -> dict[str, Any] | None:
    """The fields one row sets (empty cells left out), or None after recording all its errors."""
    bad = len(errors)

    def fail(field: str, code: str, reason: str) -> None:
        errors.append(RowError(row=number, column=HEADER[field], code=code, reason=reason))

    errors += control_character_errors(number, cells, column=HEADER.__getitem__)
    values: dict[str, Any] = {}
    for field, raw in cells.items():
        if field in LISTS:
            if items := tabular.split_list(raw):
                values[field] = items
            continue
        text = raw if field == "body" and isinstance(raw, str) else tabular.cell(raw)
        if not text.strip():
            continue
        if field in LIMITS and len(text) > LIMITS[field]:
            fail(field, "too_long", f"“{HEADER[field]}”超过{LIMITS[field]}字")
        values[field] = text.strip()
    for field in REQUIRED:
        if field not in values:
            fail(field, "missing_required", f"“{HEADER[field]}”不能为空")
    number_ = values.get("doc_number")
    if number_ is not None:
        if number_ in seen:
            fail("doc_number", "duplicate_in_file", f"与第{seen[number_]}行的文号重复")
        seen.setdefault(number_, number)
    for field in DATES:
        if field in values:
            try:
                values[field] = tabular.parse_date(cells[field])
            except ValueError as exc:
                fail(field, "bad_date", str(exc))
                values.pop(field)
    if "status" in values:
        status = STATUS_WORDS.get(values["status"].lower())
        if status is None:
            fail("status", "bad_status", f"状态“{values['status']}”无法识别，可填：现行有效、尚未施行、已失效、已修订、已废止")
            values.pop("status")
        else:
            values["status"] = status
    if "industries" in values:
        try:
            values["industries"] = reference.industry_codes(values["industries"])
        except ValueError as exc:
            fail("industries", "unknown_industry", str(exc))
    for kind, label in (("topics", "主题"), ("parks", "园区"), ("tags", "企业标签")):
        if unknown := [n for n in values.get(kind, []) if n not in names[kind]]:
            fail(kind, f"unknown_{kind.rstrip('s')}", f"{label}“{'、'.join(unknown)}”不存在，请先在系统中添加")
    old = existing.get(number_) if number_ else None
    _check_dates(values, old, fail)
    _check_status(values, old, existing, in_file, fail)
    if len(errors) > bad:
        return None
    try:  # the same checks the API applies (lengths, formats)
        PolicyUpdate(**{k: v for k, v in values.items() if k not in INTERPRETATION and k != "superseded_by"})
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "title"
            fail(field if field in HEADER else "title", "invalid", err["msg"])
        return None
    return values


def _check_dates(values: dict[str, Any], old: Policy | None, fail: Callable[[str, str, str], None]) -> None:
    def current(field: str) -> Any:
        return values.get(field, getattr(old, field) if old else None)

    start = current("effective_on") or current("issued_on")
    end = current("expires_on")
    if start and end and end < start:
        fail("expires_on", "bad_dates", "失效日期早于施行日期")


def _check_status(values: dict[str, Any], old: Policy | None, existing: dict[str, Policy], in_file: dict[str, int],
                  fail: Callable[[str, str, str], None]) -> None:
    successor = values.get("superseded_by")
    status = values.get("status")
    if successor:
        if successor == values.get("doc_number"):
            fail("superseded_by", "bad_successor", "修订后文号不能是本政策的文号")
        elif successor not in existing and successor not in in_file:
            fail("superseded_by", "unknown_policy", f"修订后文号“{successor}”不在政策库中，也不在本文件中")
        if status is not None and status is not PolicyStatus.revised:
            fail("status", "bad_status", f"填写了修订后文号，状态应为“已修订”而不是“{values['status'].value}”")
    elif status is PolicyStatus.revised and not (old is not None and old.superseded_by_id is not None):
        fail("superseded_by", "missing_required", "状态为“已修订”时须填写修订后文号")
