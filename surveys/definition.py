"""A survey's questions, as JSON in SurveyJS's shape for the subset used, so other tools read it:

    {"title": "...", "description": "...",
     "pages": [{"name": "p1", "title": "...", "visibleIf": "{q1} = 'a'",
                "elements": [{"type": "radiogroup", "name": "q1", "title": "...", "choices": [...]}, ...]}],
     "triggers": [{"type": "complete", "expression": "{q1} = 'no'"}]}

Question types: radiogroup (single choice, `showOtherItem` adds 其他 with a text), checkbox (multiple,
`minSelectedChoices`/`maxSelectedChoices`), rating (1-5 or 1-10 with end labels; 0-10 is NPS), text
(`inputType` text, number with `min`/`max`, or date; `maxLength`), comment (long text), matrix (rows x one
scale of columns), ranking (order the choices). Each has `isRequired`, `description` (help text) and
`visibleIf`. A `complete` trigger ends the survey when its expression holds.

`Definition.model_validate` checks the structure; `answer` checks one answer against its question. Both
raise with Chinese messages (`messages` turns a pydantic error into them).
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.text import has_control
from surveys import conditions

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
OTHER = "other"  # SurveyJS's value for 其他; its text goes in "<name>-Comment"
MAX_QUESTIONS = 200
MAX_CHOICES = 50


class AnswerError(ValueError):
    """An answer that does not fit its question; the message is for the respondent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(v, str) and has_control(v) for v in data.values()):
            raise ValueError("不能包含控制字符")
        return data


class Choice(_Model):
    value: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:  # SurveyJS allows "a" for {"value": "a", "text": "a"}
        if isinstance(data, str | int):
            return {"value": str(data), "text": str(data)}
        if isinstance(data, dict) and "value" in data:
            return {"text": str(data["value"]), **data, "value": str(data["value"])}
        return data


def _condition(value: str | None) -> str | None:
    if value is not None:
        conditions.parse(value)
    return value


class _Question(_Model):
    name: str
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=500)  # help text
    isRequired: bool = False
    visibleIf: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("问题名只能用字母、数字和下划线，以字母开头，最多 40 个字符")
        return value

    _condition = field_validator("visibleIf")(_condition)

    def check(self, value: Any, comment: str | None = None) -> Any:
        """The answer as stored, or AnswerError."""
        raise NotImplementedError


def _choices(choices: list[Choice]) -> list[Choice]:
    values = [c.value for c in choices]
    if len(set(values)) != len(values):
        raise ValueError("选项的值有重复")
    if OTHER in values:
        raise ValueError(f"“{OTHER}”留给“其他”选项，请用 showOtherItem")
    return choices


class _Choosing(_Question):
    choices: list[Choice] = Field(min_length=2, max_length=MAX_CHOICES)
    _unique = field_validator("choices")(_choices)

    def label(self, value: str) -> str:
        return next((c.text for c in self.choices if c.value == value), "其他" if value == OTHER else value)

    def values(self) -> list[str]:
        return [c.value for c in self.choices]


class SingleChoice(_Choosing):
    type: Literal["radiogroup"]
    showOtherItem: bool = False
    otherText: str = Field("其他", max_length=20)

    def check(self, value: Any, comment: str | None = None) -> Any:
        value = str(value)
        if value == OTHER and self.showOtherItem:
            if not (comment or "").strip():
                raise AnswerError(f"选了“{self.otherText}”，请写明具体内容")
            return value
        if value not in self.values():
            raise AnswerError("请从给出的选项中选择")
        return value


class MultipleChoice(_Choosing):
    type: Literal["checkbox"]
    showOtherItem: bool = False
    otherText: str = Field("其他", max_length=20)
    minSelectedChoices: int = Field(0, ge=0)
    maxSelectedChoices: int = Field(0, ge=0)  # 0: no limit

    @model_validator(mode="after")
    def _limits(self) -> MultipleChoice:
        most = len(self.choices) + self.showOtherItem
        if self.maxSelectedChoices and self.minSelectedChoices > self.maxSelectedChoices:
            raise ValueError("最少选择数大于最多选择数")
        if self.minSelectedChoices > most:
            raise ValueError("最少选择数大于选项数")
        return self

    def check(self, value: Any, comment: str | None = None) -> Any:
        picked = [str(v) for v in (value if isinstance(value, list) else [value])]
        if len(set(picked)) != len(picked):
            raise AnswerError("同一选项只能选一次")
        allowed = set(self.values()) | ({OTHER} if self.showOtherItem else set())
        if not set(picked) <= allowed:
            raise AnswerError("请从给出的选项中选择")
        if OTHER in picked and not (comment or "").strip():
            raise AnswerError(f"选了“{self.otherText}”，请写明具体内容")
        if len(picked) < max(self.minSelectedChoices, 1):
            raise AnswerError(f"请至少选择 {max(self.minSelectedChoices, 1)} 项")
        if self.maxSelectedChoices and len(picked) > self.maxSelectedChoices:
            raise AnswerError(f"最多选择 {self.maxSelectedChoices} 项")
        order = {v: i for i, v in enumerate([*self.values(), OTHER])}
        return sorted(picked, key=order.__getitem__)


class Rating(_Question):
    """A scale 1-5 or 1-10, or 0-10: the NPS question (how likely to recommend)."""

    type: Literal["rating"]
    rateMin: Literal[0, 1] = 1
    rateMax: Literal[5, 10] = 5
    minRateDescription: str = Field("", max_length=20)
    maxRateDescription: str = Field("", max_length=20)

    @model_validator(mode="after")
    def _scale(self) -> Rating:
        if self.rateMin == 0 and self.rateMax != 10:
            raise ValueError("从 0 开始的量表只有 0-10（NPS）")
        return self

    @property
    def nps(self) -> bool:
        return self.rateMin == 0

    def check(self, value: Any, comment: str | None = None) -> Any:
        number = _integer(value)
        if number is None or not self.rateMin <= number <= self.rateMax:
            raise AnswerError(f"请给出 {self.rateMin} 到 {self.rateMax} 之间的整数")
        return number


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    return None


class Text(_Question):
    type: Literal["text"]
    inputType: Literal["text", "number", "date"] = "text"
    maxLength: int = Field(200, ge=1, le=200)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _range(self) -> Text:
        if (self.min is not None or self.max is not None) and self.inputType != "number":
            raise ValueError("min/max 只用于数字题")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("最小值大于最大值")
        return self

    def check(self, value: Any, comment: str | None = None) -> Any:
        if self.inputType == "number":
            return self._number(value)
        if self.inputType == "date":
            try:
                return date.fromisoformat(str(value).strip()).isoformat()
            except ValueError:
                raise AnswerError("请按 2025-01-31 的格式填写日期") from None
        return _text(value, self.maxLength)

    def _number(self, value: Any) -> float | int:
        try:
            number = float(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise AnswerError("请填写一个数字")
        if self.min is not None and number < self.min or self.max is not None and number > self.max:
            low = "" if self.min is None else f"不小于 {self.min:g}"
            high = "" if self.max is None else f"不大于 {self.max:g}"
            raise AnswerError(f"请填写{low}{'、' if low and high else ''}{high}的数字")
        return int(number) if number.is_integer() else number


def _text(value: Any, most: int) -> str:
    if not isinstance(value, str):
        raise AnswerError("请填写文字")
    value = value.strip()
    if has_control(value):
        raise AnswerError("不能包含控制字符")
    if len(value) > most:
        raise AnswerError(f"最多 {most} 个字，现在是 {len(value)} 个")
    if not value:
        raise AnswerError("请填写内容")
    return value


class LongText(_Question):
    type: Literal["comment"]
    maxLength: int = Field(1000, ge=1, le=5000)

    def check(self, value: Any, comment: str | None = None) -> Any:
        return _text(value, self.maxLength)


class Matrix(_Question):
    """Rows, each answered on one scale of columns: {"row value": "column value"}."""

    type: Literal["matrix"]
    rows: list[Choice] = Field(min_length=1, max_length=MAX_CHOICES)
    columns: list[Choice] = Field(min_length=2, max_length=11)
    _unique = field_validator("rows", "columns")(_choices)

    def check(self, value: Any, comment: str | None = None) -> Any:
        if not isinstance(value, Mapping):
            raise AnswerError("请逐行选择")
        rows, columns = [r.value for r in self.rows], {c.value for c in self.columns}
        if not set(value) <= set(rows) or not all(str(v) in columns for v in value.values()):
            raise AnswerError("请从给出的选项中选择")
        if self.isRequired and len(value) < len(rows):
            missing = next(r.text for r in self.rows if r.value not in value)
            raise AnswerError(f"请为“{missing}”选择")
        return {r: str(value[r]) for r in rows if r in value}


class Ranking(_Choosing):
    """Order every choice: the answer lists all the values, most important first."""

    type: Literal["ranking"]

    def check(self, value: Any, comment: str | None = None) -> Any:
        order = [str(v) for v in value] if isinstance(value, list) else []
        if sorted(order) != sorted(self.values()):
            raise AnswerError("请为全部选项排序，每项一次")
        return order


Question = Annotated[SingleChoice | MultipleChoice | Rating | Text | LongText | Matrix | Ranking,
                     Field(discriminator="type")]


class Page(_Model):
    name: str = Field(min_length=1, max_length=40)
    title: str = Field("", max_length=200)
    visibleIf: str | None = None
    elements: list[Question] = Field(min_length=1)

    _condition = field_validator("visibleIf")(_condition)


class Trigger(_Model):
    type: Literal["complete"]
    expression: str

    _condition = field_validator("expression")(_condition)


class Definition(_Model):
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    pages: list[Page] = Field(min_length=1)
    triggers: list[Trigger] = []

    @model_validator(mode="after")
    def _references(self) -> Definition:
        seen: set[str] = set()
        for page in self.pages:
            _reads_earlier(page.visibleIf, seen, f"页面“{page.name}”")
            for question in page.elements:
                if question.name in seen:
                    raise ValueError(f"问题名“{question.name}”重复")
                _reads_earlier(question.visibleIf, seen, f"问题“{question.name}”")
                seen.add(question.name)
        if len(seen) > MAX_QUESTIONS:
            raise ValueError(f"最多 {MAX_QUESTIONS} 个问题")
        for trigger in self.triggers:
            _reads_earlier(trigger.expression, seen, "结束条件")
        return self

    def questions(self) -> Iterator[tuple[Page, _Question]]:
        for page in self.pages:
            for question in page.elements:
                yield page, question

    def question(self, name: str) -> _Question | None:
        return next((q for _, q in self.questions() if q.name == name), None)


def _reads_earlier(expression: str | None, earlier: set[str], where: str) -> None:
    if expression is None:
        return
    unknown = conditions.parse(expression).names - earlier
    if unknown:
        raise ValueError(f"{where}的条件引用了“{'、'.join(sorted(unknown))}”，条件只能引用它之前的问题")


_PYDANTIC = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识此项",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "literal_error": "取值不在允许范围内",
    "union_tag_invalid": "不支持的题型",
    "union_tag_not_found": "缺少题型 type",
    "string_too_short": "不能为空",
    "string_too_long": "太长",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "greater_than_equal": "太小",
    "less_than_equal": "太大",
}


def messages(exc: ValidationError) -> list[str]:
    """Chinese messages for a definition's validation errors, each with where it is."""
    out = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith(("function-", "tagged-")))
        if error["type"] == "value_error":
            text = str(error.get("ctx", {}).get("error", error["msg"]))
        elif error["type"] in ("too_short", "too_long", "string_too_short", "string_too_long"):
            limit = error.get("ctx", {})
            text = _PYDANTIC[error["type"]] + (
                f"（至少 {limit['min_length']}）" if "min_length" in limit and "short" in error["type"]
                else f"（最多 {limit['max_length']}）" if "max_length" in limit else "")
        else:
            text = _PYDANTIC.get(error["type"], "格式不对")
        out.append(f"{where}: {text}" if where else text)
    return out


def parse(data: Any) -> Definition:
    """The definition, or DefinitionError with every problem in Chinese. Each distinct definition is
    validated once (models are frozen, so one can be shared): a chat answer reads its survey's several times."""
    try:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON at all: validation says what is wrong
        return _validate(data)
    return _parsed(text)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Definition:
    return _validate(json.loads(text))


def _validate(data: Any) -> Definition:
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(messages(exc)) from None


class DefinitionError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("问卷定义有误：" + "；".join(problems))
        self.problems = problems
