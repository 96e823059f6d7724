"""Limits an uploaded spreadsheet is held to before anything parses it.

An .xlsx is a zip of XML parts that the reader expands in memory. The zip's directory says how many parts
there are and how large each is unzipped, and the sheet's first bytes declare its size (`<dimension>`), so a
zip bomb, a shared-strings bomb or a sheet claiming cell XFD1048576 is refused from those figures alone.
A file that lies about them is still read only in a child process with a memory limit (core.sheet_reader).
"""
from __future__ import annotations

import os
import posixpath
import re
import zipfile
from pathlib import Path

from core.imports import FileError, LimitExceeded
from core.settings import get_settings

MB = 2**20
_HEAD = 1 << 16  # the declarations sit in a part's first bytes
_SHEET = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?\s(?:\w+:)?id=\"([^\"]+)\"")
_RELATION = re.compile(rb"<(?:\w+:)?Relationship\s([^>]*)>")
_ATTRIBUTE = re.compile(rb"(\w+)=\"([^\"]*)\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"(?:[A-Z]+\d+:)?([A-Z]+)(\d+)\"")


def max_bytes() -> int:
    return int(get_settings().import_max_mb * MB)


def too_large() -> LimitExceeded:
    return LimitExceeded(f"文件超过 {get_settings().import_max_mb:g} MB，请拆分为多个文件后分别导入")


def check_size(path: Path) -> None:
    """The file is within IMPORT_MAX_MB."""
    if os.path.getsize(path) > max_bytes():
        raise too_large()


def check_xlsx(path: Path, *, max_rows: int | None) -> None:
    """Refuse an .xlsx whose parts or first sheet are larger than an import may be."""
    settings = get_settings()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(f"无法读取 Excel 文件：不是有效的 .xlsx 文件（{exc}）") from exc
    with archive:
        parts = archive.infolist()
        if len(parts) > settings.import_max_zip_members:
            raise LimitExceeded(f"文件包含 {len(parts)} 个部件，超过上限 {settings.import_max_zip_members} 个，"
                                "不是正常的 Excel 文件")
        for part in parts:
            if part.file_size > settings.import_max_part_mb * MB:
                raise LimitExceeded(f"文件中的“{part.filename}”解压后有 {part.file_size / MB:.0f} MB，"
                                    f"超过上限 {settings.import_max_part_mb:g} MB，请拆分为多个文件后分别导入")
            ratio = part.file_size / max(part.compress_size, 1)
            if part.file_size > MB and ratio > settings.import_max_compression_ratio:
                raise LimitExceeded(f"文件中的“{part.filename}”压缩比为 {ratio:.0f} 倍，超过上限 "
                                    f"{settings.import_max_compression_ratio:g} 倍，不是正常的 Excel 文件")
        _check_dimension(archive, max_rows)


def _check_dimension(archive: zipfile.ZipFile, max_rows: int | None) -> None:
    """The first sheet's declared size: rows within the import's limit (plus title lines), columns within
    IMPORT_MAX_COLUMNS. A sheet that declares nothing is left to the reader's limits."""
    from core.tabular import HEADER_SEARCH_ROWS

    name = _first_sheet(archive)
    if name is None:
        return
    try:
        with archive.open(name) as part:
            head = part.read(_HEAD)
    except Exception as exc:  # BadZipFile, zlib.error, an unsupported compression method ...
        raise FileError(f"无法读取 Excel 文件：{exc}") from exc
    match = _DIMENSION.search(head)
    if match is None:
        return
    column, row = _column_number(match[1].decode()), int(match[2])
    max_columns = get_settings().import_max_columns
    if column > max_columns:
        raise LimitExceeded(f"表格声明了 {column} 列（到 {match[1].decode()} 列），超过上限 {max_columns} 列，"
                            "请删除多余的列后再导入")
    if max_rows is not None and row > max_rows + HEADER_SEARCH_ROWS:
        raise LimitExceeded(f"表格声明了 {row} 行，超过本类导入的上限 {max_rows} 行，请拆分为多个文件后分别导入")


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The part of the workbook's first sheet (the one imports read), from workbook.xml and its relations."""
    try:
        with archive.open("xl/workbook.xml") as part:
            sheet = _SHEET.search(part.read(_HEAD))
        with archive.open("xl/_rels/workbook.xml.rels") as part:
            relations = _RELATION.findall(part.read(_HEAD))
    except Exception:  # a part missing or broken: the reader will say so
        return None
    if sheet is None:
        return None
    for relation in relations:
        attributes = dict(_ATTRIBUTE.findall(relation))
        if attributes.get(b"Id") == sheet[1] and b"Target" in attributes:
            target = attributes[b"Target"].decode()
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return name if name in archive.namelist() else None
    return None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
