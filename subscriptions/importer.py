"""Staff import and export of enterprise lists (.xlsx, .csv) with Chinese column headers.

Rows stream from the file and are upserted on the credit code in batches, so a 100,000-row sheet
needs no more memory than one batch (plus the set of credit codes seen, to find duplicates).
A cell left empty in an optional column keeps what the database has; a re-import of the same file
changes nothing.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import openpyxl
import python_calamine
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import utcnow
from core.imports import ImportReport, RowError
from subscriptions import credit_code, reference
from subscriptions.models import Enterprise, EnterpriseTag, Park, enterprise_tag_link

Format = Literal["xlsx", "csv"]
Progress = Callable[[int, int | None], None]  # (data rows read, total data rows if known)
Source = str | Path | IO[bytes]

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
TAG_SEPARATORS = re.compile(r"[、,，;；|｜]")
_PHONE = re.compile(r"^[0-9+\-() 转]{5,32}$")
_FIELDS = ("name", "industry_code", "park_id", "size", "contact_name", "contact_phone")
BATCH = 1000
_HEADER_SEARCH_ROWS = 10


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, wrong format, missing columns)."""


@dataclass(slots=True)
class _Row:
    number: int
    credit_code: str
    values: dict[str, Any]  # fields present in the file; absent optional cells are left out
    tag_ids: frozenset[int] | None  # None: the 标签 cell was empty


def import_enterprises(*, session: Session, path_or_file: Source, fmt: Format | None = None,
                       progress: Progress | None = None, batch: int = BATCH) -> ImportReport:
    """Validate every row, report each bad one, upsert the good ones on the credit code.

    `fmt` defaults to the file name's suffix. Flushes, does not commit.
    """
    fmt = fmt or _guess_format(path_or_file)
    parks = {name: id_ for id_, name in session.execute(select(Park.id, Park.name))}
    tags = {name: id_ for id_, name in session.execute(
        select(EnterpriseTag.id, EnterpriseTag.name).where(EnterpriseTag.active.is_(True)))}
    report = ImportReport()
    seen: dict[str, int] = {}
    pending: list[_Row] = []
    with _rows(path_or_file, fmt) as (total, rows):
        for number, cells in _readable(rows):
            report.rows += 1
            row = _validate(number, cells, parks, tags, seen, report.errors)
            if row is not None:
                pending.append(row)
            if len(pending) >= batch:
                _store(session, pending, report)
                pending.clear()
                if progress:
                    progress(report.rows, total)
        if pending:
            _store(session, pending, report)
    if progress:
        progress(report.rows, report.rows)
    session.flush()
    return report


def _readable(rows: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows, with a file that turns unreadable part-way (bad bytes, broken quoting) reported as
    ImportFileError: callers roll back, so nothing of such a file is stored."""
    number = 0
    try:
        for number, cells in rows:
            yield number, cells
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileError(f"第{number + 1}行附近无法读取：{exc}") from exc


def _guess_format(source: Source) -> Format:
    name = str(source) if isinstance(source, str | Path) else getattr(source, "name", "") or ""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("xlsx", "csv"):
        return suffix  # type: ignore[return-value]
    raise ImportFileError(f"无法判断文件格式“{name}”，请上传 .xlsx 或 .csv 文件")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _validate(number: int, cells: dict[str, Any], parks: dict[str, int], tags: dict[str, int],
              seen: dict[str, int], errors: list[RowError]) -> _Row | None:
    """The row to store, or None after appending its errors (all of them, column by column)."""
    bad = len(errors)

    def fail(field: str, code: str, reason: str) -> None:
        errors.append(RowError(row=number, column=HEADER[field], code=code, reason=reason))

    text = {field: _cell(cells.get(field)) for field in COLUMNS.values()}
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
            values["industry_code"] = reference.normalize_division(cells.get("industry_code"))
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
        names = [t.strip() for t in TAG_SEPARATORS.split(text["tags"]) if t.strip()]
        if unknown := [t for t in names if t not in tags]:
            fail("tags", "unknown_tag", f"标签“{'、'.join(unknown)}”不存在或已停用")
        tag_ids = frozenset(tags[t] for t in names if t in tags)
    if text["contact_name"]:
        if len(text["contact_name"]) > 50:
            fail("contact_name", "too_long", "联系人超过50字")
        values["contact_name"] = text["contact_name"]
    if text["contact_phone"]:
        if not _PHONE.match(text["contact_phone"]):
            fail("contact_phone", "bad_phone", "联系电话只能包含数字、+、-、括号和空格（5-32位）")
        values["contact_phone"] = text["contact_phone"]
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
        writes.append({"credit_code": row.credit_code, **merged, "created_at": now, "updated_at": now})
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


# --- reading -----------------------------------------------------------------------------------

class _RowSource:
    """Context manager yielding (total data rows or None, iterator of (row number, {field: value}))."""

    def __init__(self, source: Source, fmt: Format) -> None:
        self.source, self.fmt = source, fmt
        self._close: list[Callable[[], Any]] = []

    def __enter__(self) -> tuple[int | None, Iterator[tuple[int, dict[str, Any]]]]:
        try:
            if self.fmt == "xlsx":
                return self._xlsx()
            if self.fmt == "csv":
                return self._csv()
            raise ImportFileError(f"不支持的格式“{self.fmt}”，请上传 .xlsx 或 .csv 文件")
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        for close in reversed(self._close):
            close()

    def _xlsx(self) -> tuple[int | None, Iterator[tuple[int, dict[str, Any]]]]:
        # calamine (Rust) reads a 100,000-row sheet in about a second; openpyxl takes half a minute
        try:
            wb = python_calamine.CalamineWorkbook.from_object(
                str(self.source) if isinstance(self.source, Path) else self.source)
            self._close.append(wb.close)
            sheet = wb.get_sheet_by_index(0)
        except Exception as exc:  # noqa: BLE001 - calamine raises several kinds for a bad file
            raise ImportFileError(f"无法读取 Excel 文件：{exc}") from exc
        first = (sheet.start[0] if sheet.start else 0) + 1  # the sheet row of the first row returned
        rows = iter(sheet.iter_rows())
        header_number, fields = _header(rows, first)
        return sheet.height - (header_number - first + 1), _numbered(rows, header_number, fields)

    def _csv(self) -> tuple[int | None, Iterator[tuple[int, dict[str, Any]]]]:
        if isinstance(self.source, str | Path):
            raw: IO[bytes] = open(self.source, "rb")  # noqa: SIM115 - closed in __exit__
            self._close.append(raw.close)
        else:
            raw = self.source
        head = raw.read(1 << 16)
        raw.seek(0)
        try:  # Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "gb18030"
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        self._close.append(text.detach)  # leave a caller's file open
        rows = csv.reader(text)
        header_number, fields = _header(rows, 1)
        return None, _numbered(rows, header_number, fields)


_rows = _RowSource


def _header(rows: Iterator[list[Any]], first: int) -> tuple[int, list[str | None]]:
    """The header row's number and the field of each column; ImportFileError if columns are missing.

    The header is the first row naming any known column, so title lines above it are skipped.
    """
    for number, cells in enumerate(rows, start=first):
        names = [_cell(c) for c in cells]
        fields = [COLUMNS.get(name) for name in names]
        if not any(fields) and number < first + _HEADER_SEARCH_ROWS:
            continue
        missing = [HEADER[f] for f in REQUIRED if f not in fields]
        if missing:
            raise ImportFileError(f"第{number}行表头缺少列：{'、'.join(missing)}"
                                  f"（表头应为 {'、'.join(COLUMNS)}）")
        return number, fields
    raise ImportFileError("文件是空的，或前10行中没有表头")


def _numbered(rows: Iterator[Any], header_number: int,
              fields: list[str | None]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, cells in enumerate(rows, start=header_number + 1):
        if not any(c not in (None, "") for c in cells):
            continue
        yield number, {f: v for f, v in zip(fields, cells, strict=False) if f is not None}


# --- export ------------------------------------------------------------------------------------

def export_enterprises(*, session: Session, path_or_file: str | Path | IO[bytes], batch: int = 5000) -> int:
    """Write every enterprise to .xlsx with the import's columns; returns the number of rows.

    Contains contacts and credit codes in full: callers check the role first.
    """
    parks = {id_: name for id_, name in session.execute(select(Park.id, Park.name))}
    tag_names = {id_: name for id_, name in session.execute(select(EnterpriseTag.id, EnterpriseTag.name))}
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(list(COLUMNS))
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
            ws.append([code, name, industry, parks.get(park_id) if park_id else None, size,
                       "、".join(tags.get(id_, [])) or None, contact, phone])
        count += len(rows)
        last = rows[-1][0]
    wb.save(path_or_file)
    return count
