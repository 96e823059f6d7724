"""The one type for a row id wherever a client sends one: path, query or body.

Bounded to the id columns (INTEGER on PostgreSQL), so that an id no row can have is a 422 in FastAPI's
validation shape instead of an overflow in the database driver (SQLite refuses Python ints above 2^63).
"""
from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

MAX_ID = 2**31 - 1

Id = Annotated[int, Interval(ge=1, le=MAX_ID)]
