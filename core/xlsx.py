"""The one way the project writes .xlsx: every export goes through here.

Text that starts with = + - @, a tab or a carriage return is written as a text cell (with Excel's quote
prefix), never as a formula: stored text comes from followers and uploaded files, and a formula in an
export opened by staff is code run on their machine (CSV/formula injection). Control characters that
openpyxl refuses are dropped, so a row stored before input refused them never makes an export fail.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
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


def append(ws: Sheet, values: Iterable[Any]) -> None:
    """Append one row, each value through `put`."""
    ws.append([put(WriteOnlyCell(ws), v) if isinstance(v, str) else v for v in values])
