"""The one way the project writes .xlsx: every export goes through here.

Text that starts with = + - @, a tab or a carriage return is written as a text cell (with Excel's quote
prefix), never as a formula: stored text comes from followers and uploaded files, and a formula in an
export opened by staff is code run on their machine (CSV/formula injection). Control characters that
openpyxl refuses are dropped, so a row stored before input refused them never makes an export fail.

`streamed()` is the write-only workbook for the big exports (a survey's responses): it takes text and
numbers only, under the same rules, and writes each row's XML itself straight into the file, several
times faster than openpyxl's cell objects and in constant memory.
"""
from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from core.text import strip_control

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Sheet = Worksheet | WriteOnlyWorksheet


def workbook(*, write_only: bool = False) -> Workbook:
    """A new workbook; write-only streams rows to disk (exports of any size), else cells can be styled."""
    return Workbook(write_only=write_only)


def put(cell: Cell | WriteOnlyCell, value: Any) -> Cell | WriteOnlyCell:
    """Set a cell's value safely: formula-like text stays text, control characters go."""
    if isinstance(value, str):
        value = strip_control(value)
        if value.startswith(FORMULA_STARTS):
            cell.value = value
            cell.data_type = "s"  # openpyxl took it for a formula
            cell.quotePrefix = True
            return cell
    cell.value = value
    return cell


def append(ws: Sheet | StreamedSheet, values: Iterable[Any]) -> None:
    """Append one row, each value by `put`'s rules. Plain text goes in as a plain value, which openpyxl
    writes as text; only formula-like text needs a cell of its own (big exports write millions of cells)."""
    if isinstance(ws, StreamedSheet):
        ws.append(values)
    else:
        ws.append([_plain_or_cell(ws, v) if isinstance(v, str) else v for v in values])


def _plain_or_cell(ws: Sheet, value: str) -> str | WriteOnlyCell:
    value = strip_control(value)
    return put(WriteOnlyCell(ws), value) if value.startswith(FORMULA_STARTS) else value


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_NS = "http://schemas.openxmlformats.org/package/2006"
_TEXT = 1  # the style with Excel's quote prefix: the cell is text whatever it starts with
_STYLES = f"""<styleSheet {_NS}><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


class StreamedSheet:
    """One sheet of a `streamed()` workbook: rows appended are written out as XML at once (to a temporary
    file, copied into the workbook when it is saved)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._file.write(f"<worksheet {_NS}><sheetData>")
        self._rows = 0
        self._letters: list[str] = []

    def append(self, values: Iterable[Any]) -> None:
        self._rows += 1
        n, letters, cells = self._rows, self._letters, []
        for i, value in enumerate(values):
            if value is None:
                continue
            if i >= len(letters):
                letters.extend(get_column_letter(c + 1) for c in range(len(letters), i + 1))
            cells.append(_cell(f"{letters[i]}{n}", value))
        self._file.write(f'<row r="{n}">{"".join(cells)}</row>')

    def _finish(self) -> IO[str]:
        self._file.write("</sheetData></worksheet>")
        self._file.seek(0)
        return self._file


def _cell(ref: str, value: Any) -> str:
    if isinstance(value, str):
        value = strip_control(value)
        style = f' s="{_TEXT}"' if value.startswith(FORMULA_STARTS) else ""
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}" t="inlineStr"{style}><is><t{space}>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float) and value == value and value not in (float("inf"), float("-inf")):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    raise TypeError(f"a streamed sheet takes text and finite numbers, not {value!r}")


class StreamedWorkbook:
    """openpyxl's write-only workbook as far as the exports use it: create_sheet, then save."""

    def __init__(self) -> None:
        self._sheets: list[StreamedSheet] = []

    def create_sheet(self, title: str) -> StreamedSheet:
        sheet = StreamedSheet(title)
        self._sheets.append(sheet)
        return sheet

    def save(self, target: str | IO[bytes]) -> None:
        sheets = list(enumerate(self._sheets, 1))
        parts = {
            "[Content_Types].xml": f'<Types xmlns="{_PKG_NS}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i, _ in sheets) + "</Types>",
            "_rels/.rels": f'<Relationships xmlns="{_PKG_NS}/relationships">'
            f'<Relationship Id="rId1" Type="{_R_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": f'<workbook {_NS} xmlns:r="{_R_NS}"><sheets>'
            + "".join(f'<sheet name={quoteattr(s.title)} sheetId="{i}" r:id="rId{i}"/>' for i, s in sheets)
            + "</sheets></workbook>",
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG_NS}/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_R_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i, _ in sheets)
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_R_NS}/styles" Target="styles.xml"/>'
            "</Relationships>",
            "xl/styles.xml": _STYLES,
        }
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, xml in parts.items():
                archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)
            for i, sheet in sheets:
                with sheet._finish() as source, archive.open(f"xl/worksheets/sheet{i}.xml", "w",
                                                              force_zip64=True) as sink:
                    sink.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
                    for chunk in iter(lambda: source.read(1 << 20), ""):
                        sink.write(chunk.encode("utf-8"))


def streamed() -> StreamedWorkbook:
    """A write-only workbook of text and numbers for exports of any size (see the module's docstring)."""
    return StreamedWorkbook()
