"""Stored text is free of control characters: they break .xlsx exports (openpyxl refuses them) and XML
replies, and no person types them. Input refuses them with a Chinese message; output strips what is left
from rows stored earlier."""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, WithJsonSchema, field_validator

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the XML 1.0 non-characters;
# lone surrogates (a JSON "\ud800" escape decodes to one, and neither UTF-8 nor XML can hold it). Written
# escaped, so that the same class is also the pattern /openapi.json documents.
_CONTROL_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
CONTROL_MESSAGE = "不能包含控制字符（不可见的特殊字符，多由复制粘贴带入），请删除后重试"


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    return CONTROL.sub("", text)


def _refuse_control(text: str) -> str:
    if has_control(text):
        raise ValueError(CONTROL_MESSAGE)
    return text


# A query parameter's text (search words, filters): refused like a body's, before it reaches the database
# (PostgreSQL cannot hold a NUL even in a statement's parameter). Documented as the pattern it must match.
QueryText = Annotated[str, AfterValidator(_refuse_control),
                      WithJsonSchema({"type": "string", "pattern": f"^[^{_CONTROL_CLASS}]*$"})]


def _check(value: Any) -> None:
    if isinstance(value, str):
        _refuse_control(value)
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
