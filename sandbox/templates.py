"""The account's template messages as WeChat holds them since May 2023: category templates whose content
names typed keys (`政策名称：{{thing1.DATA}}`). A value that breaks its key's type is refused with 47003,
and a follower sees the template's title and its labelled rows only (never `first` or `remark`).

WeChat's rules are written here apart from the project's own (wechat/template_fields.py), as signing.py
is apart from the webhook's crypto: the stand-in checks what the project sends instead of sharing its
mistakes. It only checks; it never shortens.
"""
from __future__ import annotations

import re
from typing import Any

from sandbox.errors import ApiError

BAD_VALUE = 47003
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "POLICY_NOTICE_TPL": {"title": "政策推送通知", "content": "政策名称：{{thing1.DATA}}\n发文单位：{{thing2.DATA}}\n"
                                                          "发布日期：{{date3.DATA}}\n内容摘要：{{thing4.DATA}}"},
    "SURVEY_TPL": {"title": "问卷调查邀请", "content": "调查名称：{{thing1.DATA}}\n发起单位：{{thing2.DATA}}\n"
                                                   "截止时间：{{time3.DATA}}"},
}

_SLOT = re.compile(r"([^\n{}]*?)[:：]?\s*\{\{\s*(\w+?)\.DATA\s*\}\}")
_TYPED = re.compile(r"([a-z_]+?)\d+")
_CJK, _SYM = "\u3400-\u4dbf\u4e00-\u9fff", r"!-/:-@\[-`{-~"
_YMD = (r"(\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|\d{4}/\d{1,2}/\d{1,2}"
        r"|\d{4}\.\d{1,2}\.\d{1,2}|\d{4}-\d{1,2}|\d{1,2}-\d{1,2})")
_HM = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
# WeChat's 参数值限制 of each key type; a value must match whole
RULES: dict[str, re.Pattern[str]] = {k: re.compile(v) for k, v in {
    "thing": r"[^\x00-\x1f\x7f]{1,20}",  # 20 characters, no line breaks or control characters
    "phrase": rf"[{_CJK}]{{1,5}}",
    "character_string": rf"[0-9A-Za-z{_SYM}]{{1,32}}",
    "number": r"(?=.{1,32}$)\d+(\.\d+)?",
    "letter": r"[A-Za-z]{1,32}",
    "symbol": rf"[{_SYM}]{{1,5}}",
    "amount": r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?",
    "phone_number": rf"[0-9{_SYM}]{{1,17}}",
    "car_number": rf"(?=.{{1,8}}$)[{_CJK}A-Za-z0-9][A-Za-z0-9]*[{_CJK}]?",
    "name": rf"[{_CJK}A-Za-z]{{1,10}}|[A-Za-z{_SYM} ]{{1,20}}",
    "date": rf"{_YMD}( {_HM})?(~{_YMD}( {_HM})?)?",
    "time": rf"({_YMD} )?{_HM}(~({_YMD} )?{_HM})?",
}.items()}
CONST = "const"  # fixed by the template: whatever is sent for it is not shown


def keys(content: str) -> list[tuple[str, str]]:
    """(key, label) in the order the content shows them. Raises ValueError for a key of no known type."""
    found = [(key, label.strip()) for label, key in _SLOT.findall(content)]
    for key, _ in found:
        m = _TYPED.fullmatch(key)
        if m is None or (m.group(1) not in RULES and m.group(1) != CONST):
            raise ValueError(f"{key} is not a typed key (thing1, date2, ...)")
    if not found:
        raise ValueError("the content names no key ({{thing1.DATA}} ...)")
    return found


def parse_knob(value: Any) -> dict[str, dict[str, str]]:
    """The `templates` knob: {template_id: {"title", "content"}}. Raises ValueError."""
    if not isinstance(value, dict):
        raise ValueError('templates must be an object of template_id: {"title": ..., "content": ...}')
    out = {}
    for template_id, t in value.items():
        if not isinstance(t, dict) or not isinstance(t.get("title"), str) or not isinstance(t.get("content"), str):
            raise ValueError(f"template {template_id}: needs a title and a content (strings)")
        keys(t["content"])
        out[str(template_id)] = {"title": t["title"], "content": t["content"]}
    return out


def check(template: dict[str, str], data: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows the follower will see, (label, value); raises 47003 naming the first value that breaks
    its key's type (a missing or empty one included). Keys the template lacks are ignored, as WeChat does
    with `first` and `remark`."""
    rows = []
    for key, label in keys(template["content"]):
        kind = _TYPED.fullmatch(key).group(1)
        if kind == CONST:
            continue
        item = data.get(key)
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not RULES[kind].fullmatch(value):
            raise ApiError(BAD_VALUE, f"data.{key}.value invalid")
        rows.append((label, value))
    return rows

