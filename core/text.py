"""Stored text is free of control characters: they break .xlsx exports (openpyxl refuses them) and XML
replies, and no person types them. Input refuses them with a Chinese message; output strips what is left
from rows stored earlier."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, field_validator

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the XML 1.0 non-characters;
# lone surrogates (a JSON "\ud800" escape decodes to one, and neither UTF-8 nor XML can hold it)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
CONTROL_MESSAGE = "不能包含控制字符（不可见的特殊字符，多由复制粘贴带入），请删除后重试"


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    return CONTROL.sub("", text)


def _check(value: Any) -> None:
    if isinstance(value, str):
        if has_control(value):
            raise ValueError(CONTROL_MESSAGE)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check(k)
            _check(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _check(v)


class TextInput(BaseModel):
    """Base of request bodies: a control character in any text field (nested too) is a 422 naming the field."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _check(value)
        return value
