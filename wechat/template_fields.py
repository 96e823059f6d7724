"""The typed keys of WeChat's category templates (类目模板, WeChat's only template form since May 2023).

A template's content names its keys, e.g. `政策名称：{{thing1.DATA}}`; the letters of a key give its type
and each type limits its value. WeChat refuses a value that breaks the limit with `47003 argument
invalid! data.thing1.value invalid`, and shows neither `first` nor `remark` any more.

`fit` makes a value what WeChat will show, or says in Chinese why it cannot be:
- `thing` (20 characters): whitespace and line breaks become single spaces; a longer value is cut to
  19 characters, trailing spaces and punctuation dropped, and one "…" added, so it ends as at most 20;
- `date` and `time`: an ISO date or date-time (`2024-05-01`, `2024-05-01T15:01`) is written the way
  WeChat's own examples are (`2024年5月1日`, `2024年5月1日 15:01`); WeChat's other forms pass as they are;
- every other type is only checked: a code, number, amount or short phrase cut short would say
  something else, so it is refused instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

THING_LIMIT = 20
ELLIPSIS = "…"
_KEY = re.compile(r"([a-z]+(?:_[a-z]+)*?)(\d+)")
_SLOT = re.compile(r"([^\n{}]*?)[:：]?\s*\{\{\s*([A-Za-z_]+\d*)\.DATA\s*\}\}")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_ASCII_SYMBOL = r"!-/:-@\[-`{-~"  # ASCII punctuation: the "symbols" of WeChat's rules
_MONTH, _DAY = r"(0?[1-9]|1[0-2])", r"(0?[1-9]|[12]\d|3[01])"
_DATE = (rf"(\d{{4}}年{_MONTH}月{_DAY}日|\d{{4}}年{_MONTH}月|{_MONTH}月{_DAY}日"
         rf"|\d{{4}}-{_MONTH}-{_DAY}|\d{{4}}/{_MONTH}/{_DAY}|\d{{4}}\.{_MONTH}\.{_DAY}"
         rf"|\d{{4}}-{_MONTH}|{_MONTH}-{_DAY})")
_CLOCK = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
_ONE_DATE = rf"{_DATE}( {_CLOCK})?"
_ONE_TIME = rf"({_DATE} )?{_CLOCK}"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")  # local time, no offset
_TRAILING = " ，,、。.；;：:！!？?…·-—"


class Unfit(ValueError):
    """The value cannot be sent under this key; `reason` is a Chinese sentence for staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str] | None  # the whole value must match; None: only `thing`'s length counts
    need: str  # what the value must be, in Chinese


def _rule(pattern: str | None, need: str) -> Rule:
    return Rule(re.compile(pattern) if pattern else None, need)


RULES: dict[str, Rule] = {
    "thing": _rule(None, f"{THING_LIMIT}个以内字符"),
    "phrase": _rule(rf"[{_CJK}]{{1,5}}", "5个以内汉字"),
    "character_string": _rule(rf"[0-9A-Za-z{_ASCII_SYMBOL}]{{1,32}}", "32位以内的字母、数字或符号"),
    "number": _rule(r"(?=.{1,32}$)\d+(\.\d+)?", "32位以内的数字（可带小数）"),
    "letter": _rule(r"[A-Za-z]{1,32}", "32位以内的字母"),
    "symbol": _rule(rf"[{_ASCII_SYMBOL}]{{1,5}}", "5位以内的符号"),
    "amount": _rule(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?", "金额，如 ¥100.00 或 100元"),
    "phone_number": _rule(rf"[0-9{_ASCII_SYMBOL}]{{1,17}}", "17位以内的数字或符号"),
    "car_number": _rule(rf"(?=.{{1,8}}$)[{_CJK}A-Za-z0-9][A-Za-z0-9]*[{_CJK}]?", "8位以内的车牌号"),
    "name": _rule(rf"[{_CJK}A-Za-z]{{1,10}}|[A-Za-z{_ASCII_SYMBOL} ]{{1,20}}",
                  "10个以内汉字或20个以内字母"),
    "date": _rule(rf"{_ONE_DATE}(~{_ONE_DATE})?", "日期，如 2024年5月1日 或 2024-05-01"),
    "time": _rule(rf"{_ONE_TIME}(~{_ONE_TIME})?", "时间，如 15:01 或 2024年5月1日 15:01"),
    "const": _rule(None, "模板固定的内容"),
}


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # as WeChat names it: thing1, date3, character_string4
    kind: str  # the type: thing, date, character_string
    label: str  # what WeChat shows before the value: 政策名称

    @property
    def title(self) -> str:
        """The key as staff read it in messages: 「政策名称」（thing1）."""
        return f"「{self.label}」（{self.name}）" if self.label else f"「{self.name}」"


def kind_of(key: str) -> str:
    """`thing1` -> `thing`; raises ValueError for a key of no known type (first, remark, keyword1)."""
    m = _KEY.fullmatch(key)
    if m is None or m.group(1) not in RULES:
        raise ValueError(f"{key!r} is not a typed key of a category template (thing1, date2, ...); "
                         "WeChat no longer shows first, remark or keyword fields")
    return m.group(1)


@dataclass(frozen=True, slots=True)
class Template:
    """A template as WeChat's template list gives it: a title and a content naming its keys in order."""

    title: str
    keys: tuple[Key, ...]

    @classmethod
    def parse(cls, title: str, content: str) -> Template:
        """`content` as WeChat gives it; a written `\\n` (from an environment variable) is a line break."""
        content = content.replace("\\n", "\n")
        keys = tuple(Key(name, kind_of(name), label.strip()) for label, name in _SLOT.findall(content))
        if not keys:
            raise ValueError("the template content names no key ({{thing1.DATA}} ...)")
        if len({k.name for k in keys}) != len(keys):
            raise ValueError("the template content names a key twice")
        return cls(title, keys)


@dataclass(frozen=True, slots=True)
class Field:
    """One row as WeChat shows it: the value sent, and what changed or why it cannot be sent."""

    key: Key
    original: str
    value: str  # what is sent and shown (the original when it does not fit)
    shortened: bool = False
    problem: str | None = None  # Chinese, naming the field

    @property
    def warning(self) -> str | None:
        if not self.shortened:
            return None
        return f"{self.key.title}超过{THING_LIMIT}个字，微信中显示为“{self.value}”"


def fit(kind: str, value: str) -> tuple[str, bool]:
    """The value as WeChat will show it under a key of `kind`, and whether it was shortened.
    Raises Unfit when it cannot be sent."""
    rule = RULES[kind]
    if kind == "const":
        raise Unfit("由模板固定，不能填写")
    text = " ".join(value.split())
    if not text:
        raise Unfit("不能为空")
    if kind == "thing":
        return _shorten(text)
    if kind in ("date", "time"):
        text = _wechat_date(text)
    if rule.pattern is None or not rule.pattern.fullmatch(text):
        raise Unfit(f"须为{rule.need}（现为“{value}”）")
    return text, False


def fill(template: Template, values: dict[str, str]) -> list[Field]:
    """Each key of the template with its value fitted; a key with no value is a problem too.
    `const` keys are left to the template (not sent)."""
    rows = []
    for key in template.keys:
        if key.kind == "const":
            continue
        original = values.get(key.name, "")
        try:
            shown, shortened = fit(key.kind, original)
        except Unfit as exc:
            rows.append(Field(key, original, original, problem=f"模板字段{key.title}{exc.reason}"))
        else:
            rows.append(Field(key, original, shown, shortened))
    return rows


def data(fields: list[Field]) -> dict[str, dict[str, str]]:
    """The `data` of message/template/send."""
    return {f.key.name: {"value": f.value} for f in fields}


_REFUSED_KEY = re.compile(r"data\.([A-Za-z_]+\d+)\.value")


def refused_key(errmsg: str | None) -> str | None:
    """The key a 47003 names: `argument invalid! data.thing1.value invalid` -> `thing1`."""
    m = _REFUSED_KEY.search(errmsg or "")
    return m.group(1) if m else None


def _shorten(text: str) -> tuple[str, bool]:
    if len(text) <= THING_LIMIT:
        return text, False
    return text[: THING_LIMIT - 1].rstrip(_TRAILING) + ELLIPSIS, True


def _wechat_date(text: str) -> str:
    """ISO dates and date-times in WeChat's written form; anything else as it is."""
    try:
        if _ISO_DATE.fullmatch(text):
            d = date.fromisoformat(text)
            return f"{d.year}年{d.month}月{d.day}日"
        if not _ISO_MOMENT.fullmatch(text):
            return text
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
