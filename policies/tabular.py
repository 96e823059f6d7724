"""Rows of a staff file (.xlsx, .csv or a JSON list) keyed by column name, with spreadsheet row numbers.

Policy and FAQ files are small (thousands of rows at most) and are imported all or nothing, so they are
read whole.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import python_calamine

Source = str | Path | IO[bytes]
LIST_SEPARATORS = re.compile(r"[|｜、,，;；\n]")
_HEADER_SEARCH_ROWS = 10


class FileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header); the message (Chinese) says why."""


@dataclass
class Table:
    columns: list[str]  # the header as written
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, {column: value})


def file_format(source: Source, name: str | None = None) -> str:
    name = name or (str(source) if isinstance(source, str | Path) else getattr(source, "name", "") or "")
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("xlsx", "csv", "json"):
        return suffix
    raise FileError(f"无法判断文件格式“{name}”，请使用 .xlsx、.csv 或 .json 文件")


def read(source: Source, fmt: str, known: set[str]) -> Table:
    """The file's rows. For sheets the header is the first of the first ten rows naming a known column."""
    raw = _bytes(source)
    if fmt == "json":
        return _json(raw)
    grid = _xlsx(raw) if fmt == "xlsx" else _csv(raw)
    for index, cells in enumerate(grid[:_HEADER_SEARCH_ROWS]):
        names = [cell(c) for c in cells]
        if any(n in known for n in names):
            table = Table(columns=[n for n in names if n])
            for number, values in enumerate(grid[index + 1:], start=index + 2):
                if any(cell(v) for v in values):
                    table.rows.append((number, {n: v for n, v in zip(names, values, strict=False) if n}))
            return table
    raise FileError(f"文件是空的，或前{_HEADER_SEARCH_ROWS}行中没有表头（应包含 {'、'.join(sorted(known))} 中的列）")


def _bytes(source: Source) -> bytes:
    if isinstance(source, str | Path):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise FileError(f"无法读取文件：{exc}") from exc
    return source.read()


def _xlsx(raw: bytes) -> list[list[Any]]:
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        return [list(r) for r in wb.get_sheet_by_index(0).to_python(skip_empty_area=False)]
    except Exception as exc:  # noqa: BLE001 - calamine raises several kinds for a bad file
        raise FileError(f"无法读取 Excel 文件：{exc}") from exc


def _csv(raw: bytes) -> list[list[Any]]:
    try:  # Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=True)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FileError("CSV 文件编码无法识别，请保存为 UTF-8") from exc
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FileError(f"CSV 格式错误：{exc}") from exc


def _json(raw: bytes) -> Table:
    try:
        items = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(f"JSON 格式错误：{exc}") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FileError("JSON 文件应为对象的列表 [{...}, ...]")
    columns: dict[str, None] = {}
    table = Table(columns=[])
    for number, item in enumerate(items, start=1):
        flat = dict(item)
        nested = flat.pop("interpretation", None) or flat.pop("解读", None)
        if isinstance(nested, dict):
            flat.update(nested)
        columns.update(dict.fromkeys(flat))
        table.rows.append((number, flat))
    table.columns = list(columns)
    return table


def cell(value: Any) -> str:
    """A cell as text: None is empty, 3.0 is "3", dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "|".join(cell(v) for v in value)
    return str(value).strip()


def split_list(value: Any, separators: re.Pattern[str] = LIST_SEPARATORS) -> list[str]:
    """A list cell: a JSON list, or text split on | (and 、 , ; or new lines where allowed)."""
    items = value if isinstance(value, list) else separators.split(cell(value))
    return list(dict.fromkeys(s for s in (cell(i) for i in items) if s))


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(value: Any) -> date:
    """A date cell: an Excel date, 2024-07-22, 2024/7/22, 2024.7.22 or 2024年7月22日. ValueError if not."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(cell(value))
    if not match:
        raise ValueError(f"日期“{cell(value)}”无法识别，请写成 2024-07-22 或 2024年7月22日")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"日期“{cell(value)}”不存在") from None
