"""What an import of a staff file did: the report every importer returns, row by row.

The report stays small whatever the file: errors are counted by reason, the first few are listed
(IMPORT_REPORT_ERRORS), and every bad row goes, as it was in the file with its row number and reasons, into
an .xlsx that staff can download, correct and import again.
"""
from __future__ import annotations

import io
import json
import pickle
import secrets
import tempfile
from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from pydantic import BaseModel, Field, PrivateAttr

from core import xlsx
from core.settings import get_settings
from core.text import CONTROL_MESSAGE, has_control

BAD_ROWS_KEY = "imports:bad-rows:{}"
BAD_ROWS_HEADER = ("行号", "错误原因")


class FileError(ValueError):
    """The file as a whole cannot be read or imported (format, encoding, header); the message (Chinese) says why."""


class LimitExceeded(FileError):
    """The file is larger than an import may be (rows, sheet size, unzipped size), or reading it took more
    memory or time than allowed; nothing of it is stored."""


class RowError(BaseModel):
    row: int = Field(description="row number as the spreadsheet shows it (header is row 1); JSON: item number from 1")
    column: str
    code: str = Field(description="a stable code for the reason, e.g. missing_required, unknown_park, "
                                   "duplicate_in_file")
    reason: str = Field(description="what is wrong, for people (Chinese)")


class ImportReport(BaseModel):
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_rows: int = Field(default=0, description="rows not stored because of an error")
    error_count: int = Field(default=0, description="errors in all; a row may have several")
    errors_by_code: dict[str, int] = Field(default_factory=dict, description="errors counted by code")
    errors: list[RowError] = Field(default_factory=list,
                                   description="the first errors (IMPORT_REPORT_ERRORS of them, all are counted)")
    bad_rows_url: str | None = Field(default=None, description="every bad row as .xlsx: row number, reasons and "
                                                               "the row's cells (staff API; kept for a day)")
    unknown_columns: list[str] = Field(default_factory=list, description="columns ignored")
    _columns: list[str] = PrivateAttr(default_factory=list)
    _bad_rows: IO[bytes] | None = PrivateAttr(default=None)  # pickled rows on disk: any number of bad rows

    def header(self, columns: list[str], known: Collection[str]) -> None:
        """The file's columns: unknown ones are named in the report; all are kept for the bad-rows file."""
        self._columns = list(columns)
        self.unknown_columns = [c for c in columns if c not in known]

    def reject(self, number: int, cells: dict[str, Any], errors: list[RowError]) -> None:
        """Count a bad row's errors, list the first ones, and write the row to the bad-rows workbook."""
        if not errors:
            return
        self.rejected_rows += 1
        self.error_count += len(errors)
        for e in errors:
            self.errors_by_code[e.code] = self.errors_by_code.get(e.code, 0) + 1
        room = get_settings().import_report_errors - len(self.errors)
        self.errors += errors[:max(room, 0)]
        if self._bad_rows is None:
            self._bad_rows = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the workbook is made
        reasons = "；".join(f"{e.column}：{e.reason}" for e in errors)
        pickle.dump([number, reasons, *(_writable(cells.get(c)) for c in self._columns)], self._bad_rows)

    def bad_rows_xlsx(self) -> bytes | None:
        """Every bad row as an .xlsx file (row number, reasons, the row's cells), or None when there was none."""
        if self._bad_rows is None:
            return None
        wb = xlsx.workbook(write_only=True)
        ws = wb.create_sheet("错误行")
        xlsx.append(ws, [*BAD_ROWS_HEADER, *self._columns])
        with self._bad_rows as rows:
            rows.seek(0)
            while True:
                try:
                    xlsx.append(ws, pickle.load(rows))
                except EOFError:
                    break
        self._bad_rows = None
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def publish_bad_rows(self) -> None:
        """Keep the bad rows in Redis for a while and give their download address in `bad_rows_url`."""
        data = self.bad_rows_xlsx()
        if data is None:
            return
        from core.redis import binary_redis

        token = secrets.token_urlsafe(16)
        binary_redis().set(BAD_ROWS_KEY.format(token), data,
                           ex=int(get_settings().import_bad_rows_hours * 3600))
        self.bad_rows_url = f"/api/imports/bad-rows/{token}"


def bad_rows(token: str) -> bytes | None:
    """A published bad-rows file, or None when unknown or expired."""
    from core.redis import binary_redis

    return binary_redis().get(BAD_ROWS_KEY.format(token))


def _writable(value: Any) -> Any:
    """A cell value as openpyxl writes it (JSON items may hold lists and objects)."""
    if value is None or isinstance(value, str | int | float | date | datetime | time | timedelta):
        return value
    return json.dumps(value, ensure_ascii=False)


def control_character_errors(number: int, cells: dict[str, Any],
                             column: Callable[[str], str] = str) -> list[RowError]:
    """An error for each cell of a row holding a control character (`column` names a cell's key for people)."""
    def bad(value: Any) -> bool:
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return isinstance(value, str) and has_control(value)

    return [RowError(row=number, column=column(key), code="control_character", reason=f"“{column(key)}”{CONTROL_MESSAGE}")
            for key, value in cells.items() if bad(value)]
