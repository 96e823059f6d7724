"""One API call as handlers see it, the handler registry, and shared request checks."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError
from sandbox.state import State
from sandbox.webhook import WebhookPoster

OPENID_RE = re.compile(r"[A-Za-z0-9_-]{6,64}")
Json = dict[str, Any]


@dataclass(slots=True)
class Call:
    state: State
    poster: WebhookPoster
    body: Json
    query: Mapping[str, str]

    def openid(self, value: Any) -> str:
        if not isinstance(value, str) or not OPENID_RE.fullmatch(value):
            raise ApiError(40003)
        return value

    def object(self, value: Any) -> Json:
        if not isinstance(value, dict):
            raise ApiError(47001)
        return value

    def integer(self, value: Any, errcode: int) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(errcode) from None


Handler = Callable[[Call], Json]


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Handler
    needs_body: bool  # POST endpoints answer 44002 to an empty body


class Registry(dict[str, Endpoint]):
    """Path (under /cgi-bin/) -> endpoint; handlers are sync so state changes stay atomic."""

    def route(self, path: str, *, body: bool) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self[path] = Endpoint(handler, needs_body=body)
            return handler
        return register
