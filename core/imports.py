"""What an import of a staff file did: the report every importer returns, row by row."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, computed_field

from core.text import CONTROL_MESSAGE, has_control


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
    errors: list[RowError] = Field(default_factory=list)
    unknown_columns: list[str] = Field(default_factory=list, description="columns ignored")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


def control_character_errors(number: int, cells: dict[str, Any],
                             column: Callable[[str], str] = str) -> list[RowError]:
    """An error for each cell of a row holding a control character (`column` names a cell's key for people)."""
    def bad(value: Any) -> bool:
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return isinstance(value, str) and has_control(value)

    return [RowError(row=number, column=column(key), code="control_character", reason=f"“{column(key)}”{CONTROL_MESSAGE}")
            for key, value in cells.items() if bad(value)]
