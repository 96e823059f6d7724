"""Survey definitions: the SurveyJS subset, each question type's checks, and skip-logic conditions."""
from __future__ import annotations

import pytest

from surveys import conditions
from surveys.definition import AnswerError, DefinitionError, parse


def one(question: dict) -> dict:
    return {"pages": [{"name": "p1", "elements": [{"name": "q", "title": "题目", **question}]}]}


def check(question: dict, value, comment=None):
    return parse(one(question)).question("q").check(value, comment)


CHOICES = ["a", {"value": "b", "text": "乙"}, {"value": 3, "text": "丙"}]


@pytest.mark.parametrize("question, value, stored", [
    ({"type": "radiogroup", "choices": CHOICES}, "b", "b"),
    ({"type": "radiogroup", "choices": CHOICES}, 3, "3"),
    ({"type": "checkbox", "choices": CHOICES}, ["b", "a"], ["a", "b"]),
    ({"type": "checkbox", "choices": CHOICES, "showOtherItem": True}, ["other", "a"], ["a", "other"]),
    ({"type": "rating"}, "4", 4),
    ({"type": "rating", "rateMax": 10}, 10, 10),
    ({"type": "rating", "rateMin": 0, "rateMax": 10}, 0, 0),
    ({"type": "text"}, "  意见  ", "意见"),
    ({"type": "text", "inputType": "number", "min": 0, "max": 100}, "12.5", 12.5),
    ({"type": "text", "inputType": "number"}, "7", 7),
    ({"type": "text", "inputType": "date"}, "2026-01-31", "2026-01-31"),
    ({"type": "comment", "maxLength": 10}, "很好", "很好"),
    ({"type": "matrix", "rows": ["r1", "r2"], "columns": ["1", "2", "3"]}, {"r1": 2, "r2": "3"},
     {"r1": "2", "r2": "3"}),
    ({"type": "ranking", "choices": CHOICES}, ["3", "a", "b"], ["3", "a", "b"]),
])
def test_each_type_takes_a_fitting_answer(question, value, stored):
    assert check(question, value, comment="具体内容") == stored


@pytest.mark.parametrize("question, value, message", [
    ({"type": "radiogroup", "choices": CHOICES}, "z", "请从给出的选项中选择"),
    ({"type": "radiogroup", "choices": CHOICES}, "other", "请从给出的选项中选择"),
    ({"type": "radiogroup", "choices": CHOICES, "showOtherItem": True}, "other", "请写明具体内容"),
    ({"type": "checkbox", "choices": CHOICES, "maxSelectedChoices": 1}, ["a", "b"], "最多选择 1 项"),
    ({"type": "checkbox", "choices": CHOICES, "minSelectedChoices": 2}, ["a"], "请至少选择 2 项"),
    ({"type": "checkbox", "choices": CHOICES}, ["a", "a"], "只能选一次"),
    ({"type": "rating"}, 6, "1 到 5"),
    ({"type": "rating"}, True, "1 到 5"),
    ({"type": "rating", "rateMin": 0, "rateMax": 10}, "11", "0 到 10"),
    ({"type": "text", "maxLength": 3}, "四个字啊", "最多 3 个字"),
    ({"type": "text"}, 12, "请填写文字"),
    ({"type": "text"}, "a\x00b", "控制字符"),
    ({"type": "text", "inputType": "number", "min": 0, "max": 100}, "101", "不大于 100"),
    ({"type": "text", "inputType": "number"}, "nan", "请填写一个数字"),
    ({"type": "text", "inputType": "date"}, "2026-02-30", "日期"),
    ({"type": "matrix", "rows": ["r1", "r2"], "columns": ["1", "2"], "isRequired": True}, {"r1": "1"},
     "请为“r2”选择"),
    ({"type": "matrix", "rows": ["r1"], "columns": ["1", "2"]}, {"r9": "1"}, "请从给出的选项中选择"),
    ({"type": "ranking", "choices": CHOICES}, ["a", "b"], "请为全部选项排序"),
])
def test_each_type_refuses_what_does_not_fit(question, value, message):
    with pytest.raises(AnswerError, match=message):
        check(question, value)


@pytest.mark.parametrize("definition, message", [
    ({"pages": []}, "pages: 项数太少"),
    (one({"type": "slider"}), "不支持的题型"),
    (one({"type": "radiogroup", "choices": ["a"]}), "项数太少"),
    (one({"type": "radiogroup", "choices": ["a", "a"]}), "选项的值有重复"),
    (one({"type": "radiogroup", "choices": ["a", "other"]}), "showOtherItem"),
    (one({"type": "rating", "rateMin": 0, "rateMax": 5}), "0-10"),
    (one({"type": "rating", "rateMax": 7}), "取值不在允许范围内"),
    (one({"type": "text", "min": 1}), "只用于数字题"),
    (one({"type": "checkbox", "choices": ["a", "b"], "minSelectedChoices": 3}), "最少选择数大于选项数"),
    (one({"type": "text", "name": "1q"}), "问题名只能用"),
    (one({"type": "text", "colour": "red"}), "colour: 不认识此项"),
    (one({"type": "text", "title": ""}), "title: 不能为空"),
    (one({"type": "text", "visibleIf": "{q} notempty"}), "只能引用它之前的问题"),
    (one({"type": "text", "visibleIf": "{q} ~ 1"}), "无法识别"),
    ({"pages": [{"name": "p", "elements": [{"type": "text", "name": "a", "title": "A"},
                                          {"type": "text", "name": "a", "title": "B"}]}]}, "重复"),
    ({**one({"type": "text"}), "triggers": [{"type": "complete", "expression": "{zz} = 1"}]}, "zz"),
])
def test_a_malformed_definition_is_refused_in_chinese(definition, message):
    with pytest.raises(DefinitionError, match=message):
        parse(definition)


@pytest.mark.parametrize("expression, answers, holds", [
    ("{a} = 'x'", {"a": "x"}, True),
    ("{a} = 'x'", {}, False),
    ("{a} != 'x'", {}, True),
    ("{a} <> 'x'", {"a": "x"}, False),
    ("{a} = 3", {"a": "3"}, True),
    ("{a} anyof ['x', 'y']", {"a": "y"}, True),
    ("{a} anyof ['x', 'y']", {"a": ["z", "x"]}, True),
    ("{a} noneof ['x']", {"a": ["z"]}, True),
    ("{a} contains 'x'", {"a": ["x"]}, True),
    ("{a} >= 4", {"a": 4}, True),
    ("{a} < 4", {"a": None}, False),
    ("{a} notempty", {"a": None}, False),
    ("{a} empty", {"a": []}, True),
    ("{a} = 'x' and {b} = 'y' or {c} notempty", {"c": "1"}, True),
    ("{a} = 'x' and ({b} = 'y' or {c} notempty)", {"c": "1"}, False),
])
def test_conditions(expression, answers, holds):
    assert conditions.parse(expression).test(answers) is holds


@pytest.mark.parametrize("expression", ["", "{a}", "{a} =", "{a} = 1 and", "({a} = 1", "{a} anyof 1",
                                        "{a} anyof [1 2]", "1 = {a}", "{a} like 'x'"])
def test_a_broken_condition_is_refused(expression):
    with pytest.raises(conditions.ConditionError):
        conditions.parse(expression)
