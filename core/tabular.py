"""Staff spreadsheets (.xlsx, .xls, .csv) read row by row, keyed by the header's column names, with the row
numbers the spreadsheet shows; and the cell helpers every importer shares.

Uploaded files may be hostile: a file is held to the size limits (core.sheet_limits) before anything parses
it, a workbook is parsed in a child process with a memory and time limit (core.sheet_reader), and no import
reads more data rows than its kind allows. Rows stream, so a 100,000-row enterprise list takes no more
memory in the server than a batch of rows; importers that write all or nothing simply list them.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

from core import sheet_limits, sheet_reader
from core.imports import FileError, LimitExceeded

__all__ = ["FileError", "LimitExceeded", "Sheet", "cell", "file_format", "opened", "parse_date", "read",
           "split_list"]
Source = str | Path | IO[bytes]
Rows = Iterator[tuple[int, dict[str, Any]]]  # (row number, {column: value})
LIST_SEPARATORS = re.compile(r"[|｜、,，;；\n]")
HEADER_SEARCH_ROWS = 10
WORKBOOKS = ("xlsx", "xls")


@dataclass
class Sheet:
    columns: list[str]  # the header as written, blank cells left out
    rows: Rows  # read as iterated, blank rows left out
    total: int | None  # data rows (blank ones too) when the format tells without reading them: .xlsx, .xls


def file_format(source: Source, formats: tuple[str, ...], name: str | None = None) -> str:
    """The format the file name's suffix names, one of `formats`."""
    name = name or (str(source) if isinstance(source, str | Path) else getattr(source, "name", "") or "")
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in formats:
        return suffix
    raise FileError(f"无法判断文件格式“{name}”，请使用 {' 或 '.join('.' + f for f in formats)} 文件")


@contextmanager
def opened(source: Source) -> Iterator[IO[bytes]]:
    """A path opened for reading (and closed after), or the caller's own binary file (left open)."""
    if not isinstance(source, str | Path):
        yield source
        return
    try:
        raw = open(source, "rb")  # noqa: SIM115 - closed by the with below, after the caller's block
    except OSError as exc:
        raise FileError(f"无法读取文件：{exc}") from exc
    with raw:
        yield raw


@contextmanager
def read(source: Source, fmt: str, known: Collection[str], required: Collection[str] = (),
         max_rows: int | None = None) -> Iterator[Sheet]:
    """The sheet of an .xlsx, .xls or .csv file, readable inside the with block.

    The header is the first of the first ten rows naming a `known` column, so title lines above it are
    skipped; `known` in order names the columns in error messages. More than `max_rows` data rows is a
    LimitExceeded, raised before parsing when the file declares its size.
    """
    with ExitStack() as stack:
        if fmt in WORKBOOKS:
            grid, height = _workbook(source, fmt, stack, max_rows)
        elif fmt == "csv":
            grid, height = _csv(source, stack), None
        else:
            raise FileError(f"不支持的格式“{fmt}”，请使用 .xlsx、.xls 或 .csv 文件")
        rows = _numbered(grid)
        header, names = _header(rows, known, required)
        yield Sheet([n for n in names if n], _records(rows, names, max_rows),
                    None if height is None else height - header)


def _workbook(source: Source, fmt: str, stack: ExitStack, max_rows: int | None) -> tuple[Iterator[list[Any]], int]:
    """The sheet's rows from row 1 and how many there are, after the file passed the size limits."""
    # calamine (Rust) reads a 100,000-row sheet in about a second; openpyxl takes half a minute
    path = stack.enter_context(on_disk(source, f".{fmt}"))
    sheet_limits.check_size(path)
    if fmt == "xlsx":
        sheet_limits.check_xlsx(path, max_rows=max_rows)
    height, rows = stack.enter_context(sheet_reader.opened(path, max_rows=max_rows))
    return rows, height


@contextmanager
def on_disk(source: Source, suffix: str) -> Iterator[Path]:
    """A path to the file: its own, or a temporary copy of a file object (the child reader needs a path)."""
    if isinstance(source, str | Path):
        if not Path(source).is_file():
            raise FileError(f"无法读取文件：{source} 不存在")
        yield Path(source)
        return
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        shutil.copyfileobj(source, copy, 2**20)
        copy.flush()
        yield Path(copy.name)


def _csv(source: Source, stack: ExitStack) -> Iterator[list[str]]:
    raw = stack.enter_context(opened(source))
    if isinstance(source, str | Path):
        sheet_limits.check_size(Path(source))
    head = raw.read(1 << 16)
    raw.seek(0)
    try:  # Excel on Chinese Windows saves CSV as GBK (GB18030 reads it); everything else is UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    stack.callback(text.detach)  # the binary file is for `opened` to close, or the caller's to keep
    return csv.reader(text)


def _numbered(grid: Iterator[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    """The rows with their numbers. A file that turns unreadable part-way (the encoding was guessed from its
    start; broken quoting) is a FileError: callers roll back, so nothing of such a file is stored."""
    number = 0
    try:
        for number, cells in enumerate(grid, start=1):
            yield number, cells
    except UnicodeDecodeError as exc:
        raise FileError(f"第{number + 1}行附近无法读取：CSV 文件编码无法识别，请保存为 UTF-8（{exc}）") from exc
    except csv.Error as exc:
        raise FileError(f"第{number + 1}行附近无法读取：CSV 格式错误（{exc}）") from exc


def _header(rows: Iterator[tuple[int, list[Any]]], known: Collection[str],
            required: Collection[str]) -> tuple[int, list[str]]:
    """The header's row number and names."""
    for number, cells in islice(rows, HEADER_SEARCH_ROWS):
        names = [cell(c) for c in cells]
        if any(n in known for n in names):
            if missing := [c for c in required if c not in names]:
                raise FileError(f"第{number}行表头缺少列：{'、'.join(missing)}（可用的列：{'、'.join(known)}）")
            return number, names
    raise FileError(f"文件是空的，或前{HEADER_SEARCH_ROWS}行中没有表头（应包含 {'、'.join(known)} 中的列）")


def _records(rows: Iterator[tuple[int, list[Any]]], names: list[str], max_rows: int | None) -> Rows:
    count = 0
    for number, cells in rows:
        if any(cell(c) for c in cells):
            count += 1
            if max_rows is not None and count > max_rows:
                raise LimitExceeded(f"数据超过 {max_rows} 行（本类导入的上限），请拆分为多个文件后分别导入")
            yield number, {n: v for n, v in zip(names, cells, strict=False) if n}


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
