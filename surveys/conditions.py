"""Skip-logic conditions in SurveyJS's expression syntax, for the subset surveys use:

    {q1} = 'a'          {q1} != 'a'          {q2} anyof ['a', 'b']      {q2} noneof ['c']
    {q3} contains 'x'   {q4} >= 4            {q5} notempty              {q5} empty
    ... and ... / ... or ... / ( ... )

`parse` turns one into a function of the answers so far and the names it reads, so a definition can
check that a condition only looks at earlier questions. A question not answered (or skipped) is empty:
only `empty`, `!=`, `noneof` hold for it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

Answers = Mapping[str, Any]
Test = Callable[[Answers], bool]


class ConditionError(ValueError):
    pass


class Condition(NamedTuple):
    test: Test
    names: frozenset[str]  # the questions it reads


_TOKEN = re.compile(r"""\s*(?:
    \{(?P<name>[^{}]+)\}
  | '(?P<sq>[^']*)' | "(?P<dq>[^"]*)"
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|>=|<=|=|>|<|\[|\]|,|\(|\))
  | (?P<word>[A-Za-z]+)
)""", re.VERBOSE)
_WORDS = {"and", "or", "anyof", "noneof", "contains", "notempty", "empty", "true", "false"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"条件“{text}”在第 {pos + 1} 个字符处无法识别")
        pos = m.end()
        if m["name"] is not None:
            out.append(("name", m["name"].strip()))
        elif m["sq"] is not None or m["dq"] is not None:
            out.append(("value", m["sq"] if m["sq"] is not None else m["dq"]))
        elif m["num"] is not None:
            out.append(("value", float(m["num"]) if "." in m["num"] else int(m["num"])))
        elif m["op"] is not None:
            out.append(("op", "!=" if m["op"] == "<>" else m["op"]))
        else:
            word = m["word"].lower()
            if word not in _WORDS:
                raise ConditionError(f"条件“{text}”中的“{m['word']}”不是支持的运算符")
            out.append(("value", word == "true") if word in ("true", "false") else ("op", word))
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if _empty(value) else [value]


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def _order(op: str, a: Any, b: Any) -> bool:
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def _compare(op: str, name: str, operand: Any) -> Test:
    if op == "=":
        return lambda a: not _empty(a.get(name)) and _same(a.get(name), operand)
    if op == "!=":
        return lambda a: _empty(a.get(name)) or not _same(a.get(name), operand)
    if op == "anyof":
        return lambda a: any(_same(v, o) for v in _as_list(a.get(name)) for o in operand)
    if op == "noneof":
        return lambda a: not any(_same(v, o) for v in _as_list(a.get(name)) for o in operand)
    if op == "contains":
        return lambda a: any(_same(v, operand) for v in _as_list(a.get(name)))
    return lambda a: not _empty(a.get(name)) and _order(op, a.get(name), operand)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.at, self.names = text, _tokens(text), 0, set()

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _next(self, what: str) -> tuple[str, Any]:
        token = self._peek()
        if token is None:
            raise ConditionError(f"条件“{self.text}”不完整：缺少{what}")
        self.at += 1
        return token

    def parse(self) -> Condition:
        if not self.tokens:
            raise ConditionError("条件为空")
        test = self._or()
        if self._peek() is not None:
            raise ConditionError(f"条件“{self.text}”中多出了“{self._peek()[1]}”")
        return Condition(test, frozenset(self.names))

    def _or(self) -> Test:
        parts = [self._and()]
        while self._peek() == ("op", "or"):
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda a: any(p(a) for p in parts))

    def _and(self) -> Test:
        parts = [self._atom()]
        while self._peek() == ("op", "and"):
            self.at += 1
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else (lambda a: all(p(a) for p in parts))

    def _atom(self) -> Test:
        kind, value = self._next("问题名")
        if (kind, value) == ("op", "("):
            inner = self._or()
            if self._next("右括号") != ("op", ")"):
                raise ConditionError(f"条件“{self.text}”的括号不配对")
            return inner
        if kind != "name":
            raise ConditionError(f"条件“{self.text}”中“{value}”的位置应是 {{问题名}}")
        self.names.add(value)
        kind, op = self._next("运算符")
        if kind != "op" or op in ("and", "or", "(", ")", "[", "]", ","):
            raise ConditionError(f"条件“{self.text}”中 {{{value}}} 后应是运算符")
        if op == "notempty":
            return lambda a: not _empty(a.get(value))
        if op == "empty":
            return lambda a: _empty(a.get(value))
        if op in ("anyof", "noneof"):
            return _compare(op, value, self._list())
        if op not in ("=", "!=", ">", "<", ">=", "<=", "contains"):
            raise ConditionError(f"条件“{self.text}”中的“{op}”用法不对")
        kind, operand = self._next("比较的值")
        if kind != "value":
            raise ConditionError(f"条件“{self.text}”中 {op} 后应是一个值")
        return _compare(op, value, operand)

    def _list(self) -> list:
        if self._next("列表") != ("op", "["):
            raise ConditionError(f"条件“{self.text}”中 anyof/noneof 后应是 [列表]")
        items = []
        while True:
            kind, value = self._next("列表的值")
            if (kind, value) == ("op", "]") and not items:
                return items
            if kind != "value":
                raise ConditionError(f"条件“{self.text}”的列表中“{value}”不是值")
            items.append(value)
            kind, value = self._next("右方括号")
            if (kind, value) == ("op", "]"):
                return items
            if (kind, value) != ("op", ","):
                raise ConditionError(f"条件“{self.text}”的列表应以逗号分隔")


@lru_cache(maxsize=1024)
def parse(text: str) -> Condition:
    """The condition (cached: every answer re-evaluates a survey's few conditions)."""
    return _Parser(text).parse()
