"""Staff import and export of enterprise lists (.xlsx, .csv) with Chinese column headers.

Rows stream from the file and are upserted on the credit code in batches, so a 100,000-row sheet
needs no more memory than one batch (plus the set of credit codes seen, to find duplicates).
A cell left empty in an optional column keeps what the database has; a re-import of the same file
changes nothing.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import tabular, xlsx
from core.db import utcnow
from core.settings import get_settings
from core.imports import ImportReport, RowError, control_character_errors
from subscriptions import credit_code, reference
from subscriptions.models import Enterprise, EnterpriseTag, Park, enterprise_tag_link

Progress = Callable[[int, int | None], None]  # (data rows read, total data rows if known)
FORMATS = ("xlsx", "xls", "csv")

COLUMNS: dict[str, str] = {  # header -> field, in export order
    "统一社会信用代码": "credit_code",
    "企业名称": "name",
    "行业代码": "industry_code",
    "园区": "park",
    "规模": "size",
    "标签": "tags",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
}
HEADER = {field: header for header, field in COLUMNS.items()}
REQUIRED = ("credit_code", "name", "industry_code")
_PHONE = re.compile(r"^[0-9+\-() 转]{5,32}$")
_FIELDS = ("name", "industry_code", "park_id", "size", "contact_name", "contact_phone")
BATCH = 1000


@dataclass(slots=True)
class _Row:
    number: int
    credit_code: str
    values: dict[str, Any]  # fields present in the file; absent optional cells are left out
    tag_ids: frozenset[int] | None  # None: the 标签 cell was empty


def import_enterprises(*, session: Session, path_or_file: tabular.Source, fmt: str | None = None,
                       progress: Progress | None = None, batch: int = BATCH) -> ImportReport:
    """Validate every row, report each bad one, upsert the good ones on the credit code.

    `fmt` ("xlsx", "xls" or "csv") defaults to the file name's suffix. Raises tabular.FileError when the file as a
    whole cannot be used (the caller rolls back). Flushes, does not commit.
    """
    fmt = fmt or tabular.file_format(path_or_file, FORMATS)
    parks = {name: id_ for id_, name in session.execute(select(Park.id, Park.name))}
    tags = {name: id_ for id_, name in session.execute(
        select(EnterpriseTag.id, EnterpriseTag.name).where(EnterpriseTag.active.is_(True)))}
    report = ImportReport()
    seen: dict[str, int] = {}
    pending: list[_Row] = []
    with tabular.read(path_or_file, fmt, COLUMNS, required=[HEADER[f] for f in REQUIRED],
                      max_rows=get_settings().import_max_rows_enterprises) as sheet:
        report.header(sheet.columns, COLUMNS)
        for number, cells in sheet.rows:
            report.rows += 1
            errors: list[RowError] = []
            row = _validate(number, cells, parks, tags, seen, errors)
            report.reject(number, cells, errors)
            if row is not None:
                pending.append(row)
            if len(pending) >= batch:
                _store(session, pending, report)
                pending.clear()
                if progress:
                    progress(report.rows, sheet.total)
        if pending:
            _store(session, pending, report)
    if progress:
        progress(report.rows, report.rows)
    session.flush()
    return report


def _validate(number: int, cells: dict[str, Any], parks: dict[str, int], tags: dict[str, int],
              seen: dict[str, int], errors: list[RowError]) -> _Row | None:
    """The row to store, or None after appending its errors (all of them, column by column)."""
    bad = len(errors)

    def fail(field: str, code: str, reason: str) -> None:
        errors.append(RowError(row=number, column=HEADER[field], code=code, reason=reason))

    errors += control_character_errors(number, {h: v for h, v in cells.items() if h in COLUMNS})
    text = {field: tabular.cell(cells.get(header)) for header, field in COLUMNS.items()}
    for field in REQUIRED:
        if not text[field]:
            fail(field, "missing_required", f"“{HEADER[field]}”不能为空")
    values: dict[str, Any] = {}
    code = ""
    if text["credit_code"]:
        try:
            code = credit_code.validate(text["credit_code"])
        except credit_code.InvalidCreditCode as exc:
            fail("credit_code", "bad_credit_code", exc.zh)
        else:
            if code in seen:
                fail("credit_code", "duplicate_in_file", f"与第{seen[code]}行的统一社会信用代码重复")
            else:
                seen[code] = number
    if text["name"]:
        if len(text["name"]) > 200:
            fail("name", "too_long", "企业名称超过200字")
        values["name"] = text["name"]
    if text["industry_code"]:
        try:
            values["industry_code"] = reference.normalize_division(cells.get(HEADER["industry_code"]))
        except ValueError as exc:
            fail("industry_code", "unknown_industry", str(exc))
    if text["park"]:
        if text["park"] in parks:
            values["park_id"] = parks[text["park"]]
        else:
            fail("park", "unknown_park", f"园区“{text['park']}”不存在，请先在园区列表中添加")
    if text["size"]:
        try:
            values["size"] = reference.normalize_size(text["size"])
        except ValueError as exc:
            fail("size", "bad_size", str(exc))
    tag_ids: frozenset[int] | None = None
    if text["tags"]:
        names = tabular.split_list(text["tags"])  # the separators of the policies' 企业标签 column
        if unknown := [t for t in names if t not in tags]:
            fail("tags", "unknown_tag", f"标签“{'、'.join(unknown)}”不存在或已停用")
        tag_ids = frozenset(tags[t] for t in names if t in tags)
    if text["contact_name"]:
        if len(text["contact_name"]) > 50:
            fail("contact_name", "too_long", "联系人超过50字")
        values["contact_name"] = text["contact_name"]
    if text["contact_phone"]:
        phone = unicodedata.normalize("NFKC", text["contact_phone"])  # full-width digits typed on Chinese IMEs
        if not _PHONE.match(phone):
            fail("contact_phone", "bad_phone", "联系电话只能包含数字、+、-、括号和空格（5-32位）")
        values["contact_phone"] = phone
    if len(errors) > bad:
        return None
    return _Row(number, code, values, tag_ids)


def _upsert_statement(session: Session):
    """INSERT ... ON CONFLICT (credit_code) DO UPDATE, in the session's dialect (executemany-friendly)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"enterprise upsert on {dialect}")
    stmt = insert(Enterprise.__table__)
    return stmt.on_conflict_do_update(
        index_elements=[Enterprise.credit_code],
        set_={f: stmt.excluded[f] for f in (*_FIELDS, "updated_at")},
    )


def _store(session: Session, rows: list[_Row], report: ImportReport) -> None:
    """Upsert one batch; count created, updated and unchanged against what the database holds."""
    existing = {r.credit_code: r for r in session.execute(
        select(Enterprise.id, Enterprise.credit_code, *(getattr(Enterprise, f) for f in _FIELDS))
        .where(Enterprise.credit_code.in_([row.credit_code for row in rows])))}
    old_tags: dict[int, set[int]] = {}
    if existing:
        for eid, tid in session.execute(select(enterprise_tag_link.c.enterprise_id, enterprise_tag_link.c.tag_id)
                                        .where(enterprise_tag_link.c.enterprise_id.in_(
                                            [r.id for r in existing.values()]))):
            old_tags.setdefault(eid, set()).add(tid)
    now = utcnow()
    writes: list[dict[str, Any]] = []
    retag: dict[str, frozenset[int]] = {}
    for row in rows:
        old = existing.get(row.credit_code)
        merged = {f: row.values.get(f, getattr(old, f) if old else None) for f in _FIELDS}
        tags_changed = row.tag_ids is not None and row.tag_ids != frozenset(old_tags.get(old.id, ()) if old else ())
        if old is None:
            report.created += 1
        elif tags_changed or any(merged[f] != getattr(old, f) for f in _FIELDS):
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        # staff's own list: a new row is verified (an existing row keeps its state: the upsert leaves it alone)
        writes.append({"credit_code": row.credit_code, **merged, "verified_at": now, "created_at": now,
                       "updated_at": now})
        if tags_changed:
            retag[row.credit_code] = row.tag_ids  # type: ignore[assignment]
    if not writes:
        return
    session.execute(_upsert_statement(session), writes)
    if retag:
        ids = {code: old.id for code, old in existing.items()}
        if created := [code for code in retag if code not in ids]:
            ids.update((code, id_) for id_, code in session.execute(
                select(Enterprise.id, Enterprise.credit_code).where(Enterprise.credit_code.in_(created))))
        retag_ids = [ids[code] for code in retag]
        session.execute(delete(enterprise_tag_link).where(enterprise_tag_link.c.enterprise_id.in_(retag_ids)))
        links = [{"enterprise_id": ids[code], "tag_id": tid} for code, tag_ids in retag.items() for tid in tag_ids]
        if links:
            session.execute(enterprise_tag_link.insert(), links)


# --- export ------------------------------------------------------------------------------------

def export_enterprises(*, session: Session, path_or_file: str | Path | IO[bytes], batch: int = 5000) -> int:
    """Write every enterprise to .xlsx with the import's columns; returns the number of rows.

    Contains contacts and credit codes in full: callers check the role first.
    """
    parks = {id_: name for id_, name in session.execute(select(Park.id, Park.name))}
    tag_names = {id_: name for id_, name in session.execute(select(EnterpriseTag.id, EnterpriseTag.name))}
    wb = xlsx.workbook(write_only=True)
    ws = wb.create_sheet("企业")
    xlsx.append(ws, COLUMNS)
    last, count = 0, 0
    while True:
        rows = session.execute(
            select(Enterprise.id, Enterprise.credit_code, Enterprise.name, Enterprise.industry_code,
                   Enterprise.park_id, Enterprise.size, Enterprise.contact_name, Enterprise.contact_phone)
            .where(Enterprise.id > last).order_by(Enterprise.id).limit(batch)).all()
        if not rows:
            break
        tags: dict[int, list[str]] = {}
        for eid, tid in session.execute(
                select(enterprise_tag_link.c.enterprise_id, enterprise_tag_link.c.tag_id)
                .where(enterprise_tag_link.c.enterprise_id.in_([r[0] for r in rows]))
                .order_by(enterprise_tag_link.c.enterprise_id, enterprise_tag_link.c.tag_id)):
            tags.setdefault(eid, []).append(tag_names[tid])
        for id_, code, name, industry, park_id, size, contact, phone in rows:
            xlsx.append(ws, [code, name, industry, parks.get(park_id) if park_id else None, size,
                       "、".join(tags.get(id_, [])) or None, contact, phone])
        count += len(rows)
        last = rows[-1][0]
    wb.save(path_or_file)
    return count
