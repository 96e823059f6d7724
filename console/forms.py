"""HTML forms parsed by the API's own pydantic schemas; their errors as Chinese messages per field."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

M = TypeVar("M", bound=BaseModel)
# A filter's empty choice (全部…), as an HTML form sends it: no filter, not a value to refuse.
Blank = BeforeValidator(lambda value: value or None)

_MESSAGES = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "string_too_long": "最多 {max_length} 个字",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "greater_than_equal": "须不小于 {ge}",
    "less_than_equal": "须不大于 {le}",
    "enum": "取值无效",
    "datetime_parsing": "时间格式有误",
    "datetime_from_date_parsing": "时间格式有误",
    "extra_forbidden": "不认识的字段",
    "date_parsing": "日期格式有误，应为 2024-01-31",
    "date_from_datetime_parsing": "日期格式有误，应为 2024-01-31",
    "date_from_datetime_inexact": "日期格式有误，应为 2024-01-31",
}


def _chinese(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "value_error":  # the schemas' own checks say it as "English / 中文"
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return message.rsplit(" / ", 1)[-1]
    template = _MESSAGES.get(kind)
    if template is None:
        return error["msg"]
    return template.format(**error.get("ctx", {}))


def field_errors(exc: ValidationError, *, nested: bool = False) -> dict[str, str]:
    """{field: message}; errors about the whole form (model validators) under "" . `nested` names a field
    of a nested model by its dotted path (`filter.exclude.parks`), a list's items by the list."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        if nested:
            parts = [str(p) for p in loc if not isinstance(p, int)]
            field = ".".join(parts)
        else:
            field = str(loc[0]) if loc else ""
        found.setdefault(field, _chinese(error))
    return found


def parse(schema: type[M], data: dict[str, Any], *, nested: bool = False) -> tuple[M | None, dict[str, str]]:
    try:
        return schema.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc, nested=nested)
