"""FAQ import (.xlsx, .csv) and export (.xlsx) with Chinese column headers.

Any set of the known columns that includes 问题 and 答案 will do; other columns are named in the report and
ignored. Rows are matched to entries by 编号, or else by 问题. A file with any bad row writes nothing, so a
corrected file can simply be imported again; importing the same file twice changes nothing the second time.
An empty cell keeps what the entry has.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tabular, xlsx
from core.imports import ImportReport, RowError, control_character_errors
from core.settings import get_settings
from policies import content  # noqa: F401 - bumps the content version after commits
from policies.models import FaqEntry, Policy

Progress = Callable[[int, int], None]  # (rows done, rows in all)
FORMATS = ("xlsx", "xls", "csv")

COLUMNS: dict[str, str] = {  # header -> field, in export order
    "编号": "external_id",
    "类目": "category",
    "问题": "question",
    "答案": "answer",
    "相似问法": "similar",
    "关键词": "keywords",
    "发文单位": "issuer",
    "来源": "source_url",
    "相关政策": "policy_number",
}
HEADER = {f: h for h, f in COLUMNS.items()}
REQUIRED = ("question", "answer")
LIMITS = {"external_id": 64, "category": 100, "question": 500, "issuer": 200, "source_url": 1000,
          "policy_number": 100}
LISTS = ("similar", "keywords")
# Similar questions may themselves contain commas and 、, so only | and new lines separate them.
_SIMILAR_SEPARATORS = re.compile(r"[|｜\n]")


def import_faq(*, session: Session, path: tabular.Source, progress: Progress | None = None,
               fmt: str | None = None) -> ImportReport:
    """Validate every row, then, if none is bad, upsert them all. Flushes, does not commit.

    `path` is a file path or a binary file object (then give `fmt`, "xlsx", "xls" or "csv", unless it has a
    name). Raises tabular.FileError when the file as a whole cannot be used.
    """
    fmt = fmt or tabular.file_format(path, FORMATS)
    with tabular.read(path, fmt, COLUMNS, required=[HEADER[f] for f in REQUIRED],
                      max_rows=get_settings().import_max_rows_faq) as sheet:
        columns, items = sheet.columns, list(sheet.rows)
    report = ImportReport(rows=len(items))
    report.header(columns, COLUMNS)
    present = [f for h, f in COLUMNS.items() if h in columns]
    policies = set(session.scalars(select(Policy.doc_number).where(Policy.doc_number.is_not(None))))
    rows = []
    seen_ids: dict[str, int] = {}
    seen_questions: dict[str, int] = {}
    for number, cells in items:
        errors: list[RowError] = []
        values = _validate(number, cells, present, policies, seen_ids, seen_questions, errors)
        report.reject(number, cells, errors)
        if values is not None:
            rows.append(values)
    if report.rejected_rows:
        return report

    entries = list(session.scalars(select(FaqEntry)))
    by_id = {e.external_id: e for e in entries if e.external_id}
    by_question: dict[str, FaqEntry] = {}
    for e in sorted(entries, key=lambda e: e.id):
        by_question.setdefault(e.question, e)
    for done, values in enumerate(rows, start=1):
        entry = by_id.get(values.get("external_id") or "")
        if entry is None:
            match = by_question.get(values["question"])
            if match is not None and (not values.get("external_id") or match.external_id is None):
                entry = match
        if entry is None:
            entry = FaqEntry(**{"category": "", "similar": [], "keywords": [], "issuer": "", "source_url": "",
                                **values})
            session.add(entry)
            report.created += 1
            if entry.external_id:
                by_id[entry.external_id] = entry
            by_question.setdefault(entry.question, entry)
        else:
            changed = {k: v for k, v in values.items() if getattr(entry, k) != v}
            for k, v in changed.items():
                setattr(entry, k, v)
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
        if progress and (done % 50 == 0 or done == len(rows)):
            progress(done, len(rows))
    if progress and not rows:
        progress(0, 0)
    session.flush()
    return report


def _validate(number: int, cells: dict[str, Any], present: list[str], policies: set[str],
              seen_ids: dict[str, int], seen_questions: dict[str, int],
              errors: list[RowError]) -> dict[str, Any] | None:
    """The fields to set from one row (empty cells left out), or None after recording its errors."""
    bad = len(errors)

    def fail(field: str, code: str, reason: str) -> None:
        errors.append(RowError(row=number, column=HEADER[field], code=code, reason=reason))

    errors += control_character_errors(number, {HEADER[f]: cells.get(HEADER[f]) for f in present})
    values: dict[str, Any] = {}
    for field in present:
        raw = cells.get(HEADER[field])
        if field in LISTS:
            items = tabular.split_list(raw, _SIMILAR_SEPARATORS if field == "similar" else tabular.LIST_SEPARATORS)
            if items:
                values[field] = items
            continue
        text = tabular.cell(raw)
        if not text:
            if field in REQUIRED:
                fail(field, "missing_required", f"“{HEADER[field]}”不能为空")
            continue
        if field in LIMITS and len(text) > LIMITS[field]:
            fail(field, "too_long", f"“{HEADER[field]}”超过{LIMITS[field]}字")
        values[field] = text
    if (ext := values.get("external_id")) is not None:
        if ext in seen_ids:
            fail("external_id", "duplicate_in_file", f"与第{seen_ids[ext]}行的编号重复")
        seen_ids.setdefault(ext, number)
    elif (question := values.get("question")) is not None:
        if question in seen_questions:
            fail("question", "duplicate_in_file", f"与第{seen_questions[question]}行的问题重复（且没有编号区分）")
        seen_questions.setdefault(question, number)
    if (doc := values.get("policy_number")) is not None and doc not in policies:
        fail("policy_number", "unknown_policy", f"相关政策“{doc}”不在政策库中，请先导入该政策或核对文号")
    return None if len(errors) > bad else values


def export_faq(*, session: Session, path_or_file: str | Path | IO[bytes]) -> int:
    """Write every entry to .xlsx with the import's columns (lists joined by |); returns the row count.
    Importing the file again changes nothing."""
    wb = xlsx.workbook(write_only=True)
    ws = wb.create_sheet("FAQ")
    xlsx.append(ws, COLUMNS)
    count = 0
    for entry in session.scalars(select(FaqEntry).order_by(FaqEntry.id)):
        row = []
        for field in COLUMNS.values():
            value = getattr(entry, field)
            row.append("|".join(value) if field in LISTS else value)
        xlsx.append(ws, row)
        count += 1
    wb.save(path_or_file)
    return count
