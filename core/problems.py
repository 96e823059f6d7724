"""The one shape of every refusal the staff API sends, documented on every route of it.

FastAPI's `HTTPException` and its request validation both answer `{"detail": ...}`; the detail is a
message, the list of field errors (422 from validation), or an object with more to say (a campaign's
`problems`, a segment filter's `errors`).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str | list[dict[str, Any]] | dict[str, Any]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


STAFF_API = {
    400: _problem("the body could not be read (not JSON, or not the form it should be)"),
    401: _problem("not signed in: no bearer token, or one that is expired or revoked"),
    403: _problem("signed in, but the role may not do this"),
    404: _problem("no such record"),
    409: _problem("refused in the record's current state, or a name or number already taken"),
    422: _problem("invalid input: FastAPI's list of field errors, or a message"),
}
