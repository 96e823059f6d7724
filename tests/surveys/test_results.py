"""Results and the .xlsx export: counts, scales, NPS, terms, cross-tabs with small cells hidden for
anonymous surveys, rates and drop-off, and formula-like answers written as text."""
from __future__ import annotations

import io

import openpyxl
import pytest

from staff.models import Role
from staff.security import issue_token
from sqlalchemy import select

from surveys import counts, export, respond, results
from surveys.models import SurveyAnswerCount
from tests.push.conftest import make_staff
from tests.surveys.conftest import make_follower, open_survey

DEFINITION = {"pages": [{"name": "p", "elements": [
    {"type": "radiogroup", "name": "know", "title": "是否了解", "isRequired": True, "choices": ["是", "否"],
     "showOtherItem": True},
    {"type": "rating", "name": "nps", "title": "推荐意愿", "rateMin": 0, "rateMax": 10},
    {"type": "matrix", "name": "m", "title": "评价", "rows": ["效率", "态度"], "columns": ["差", "好"]},
    {"type": "ranking", "name": "rank", "title": "排序", "choices": ["甲", "乙"]},
    {"type": "comment", "name": "advice", "title": "建议"},
]}]}


def _respond(session, survey, follower, answers):
    rec = respond.recipient(session=session, survey=survey, follower=follower)
    for name, value in answers.items():
        comment = answers.get(f"{name}-Comment")
        if not name.endswith("-Comment"):
            respond.answer(session=session, survey=survey, rec=rec, name=name, value=value, comment=comment)
    return respond.complete(session=session, survey=survey, rec=rec, channel="form")


@pytest.fixture
def answered(session, people):
    survey = open_survey(session, people, definition=DEFINITION, anonymous=True)
    rows = [("是", 10, "融资难，希望简化审批"), ("是", 9, "审批流程太慢"), ("否", 3, None), ("是", 7, "=HYPERLINK(\"x\")"),
            ("是", 10, "审批 电话13812345678")]
    for i, (know, nps, advice) in enumerate(rows):
        follower = make_follower(session, industry="13" if i < 5 else "65")
        _respond(session, survey, follower, {"know": know, "nps": nps, "m": {"效率": "好"}, "rank": ["乙", "甲"],
                                             "advice": advice})
    _respond(session, survey, make_follower(session, industry="65"),
             {"know": "other", "know-Comment": "不清楚", "nps": 0, "m": None, "rank": None, "advice": None})
    started = respond.recipient(session=session, survey=survey, follower=make_follower(session))
    respond.answer(session=session, survey=survey, rec=started, name="know", value="是")
    return survey


def _question(computed, name):
    return next(q for q in computed["questions"] if q["name"] == name)


def test_results(session, answered):
    computed = results.compute(session=session, survey=answered)
    assert computed["responses"] == 6 and sum(computed["per_day"].values()) == 6
    know = _question(computed, "know")
    assert [(o["label"], o["count"]) for o in know["options"]] == [("是", 4), ("否", 1), ("其他", 1)]
    nps = _question(computed, "nps")
    assert nps["nps"] == {"promoters": 3, "passives": 1, "detractors": 2, "nps": 16.7}
    assert nps["median"] == 8.0 and nps["mean"] == 6.5
    assert _question(computed, "m")["rows"][0] == {"row": "效率", "counts": {"差": 0, "好": 5}}
    assert _question(computed, "rank")["mean_rank"] == {"甲": 2.0, "乙": 1.0}
    terms = _question(computed, "advice")["terms"]
    assert ["审批", 3] in [list(t) for t in terms["top"]] and (terms["from"], terms["of"]) == (4, 4)
    # anonymous: the section with 5 responses is shown, the one with 1 is not
    assert [c["cell"] for c in know["cross"]["industry_section"]] == ["C"]
    assert computed["drop_off"] == [{"after": "know", "stopped": 1}]
    rates = {c["cell"]: c for c in computed["rates"]["industry_section"]}
    assert rates["C"]["invited"] == 6 and rates["C"]["completed"] == 5


NUMBERS = {"pages": [{"name": "p", "elements": [
    {"type": "checkbox", "name": "need", "title": "需求", "choices": ["融资", "用工", "税费"]},
    {"type": "text", "name": "staff", "title": "员工人数", "inputType": "number"},
    {"type": "text", "name": "since", "title": "成立日期", "inputType": "date"},
    {"type": "rating", "name": "score", "title": "满意度"},
]}]}


@pytest.mark.parametrize("staff, median, mean", [([3, 3, 5, 10, 10], 5, 6.2), ([3, 3, 5, 10], 4.0, 5.25)])
def test_results_count_each_distinct_answer_as_often_as_given(session, people, staff, median, mean):
    survey = open_survey(session, people, definition=NUMBERS, anonymous=False)
    for i, n in enumerate(staff):
        _respond(session, survey, make_follower(session, size="小" if i % 2 else "大"),
                 {"need": ["融资", "税费"] if n == 3 else ["用工"], "staff": n, "since": f"2020-0{1 + i % 2}-15",
                  "score": 4})
    computed = results.compute(session=session, survey=survey)
    need = _question(computed, "need")
    assert [(o["label"], o["count"]) for o in need["options"]] == [("融资", 2), ("用工", len(staff) - 2), ("税费", 2)]
    assert (_question(computed, "staff")["median"], _question(computed, "staff")["mean"]) == (median, mean)
    assert _question(computed, "since")["by_month"] == {"2020-01": (len(staff) + 1) // 2, "2020-02": len(staff) // 2}
    score = _question(computed, "score")
    assert score["distribution"]["4"] == len(staff) and score["median"] == 4
    by_size = {c["cell"]: c["counts"] for c in score["cross"]["size"]}
    assert by_size == {"大": {"4": (len(staff) + 1) // 2}, "小": {"4": len(staff) // 2}}
    assert "cross" not in _question(computed, "staff")


def test_answers_counted_on_completion_are_those_counted_again_from_the_responses(session, answered):
    """The results read the counts kept as responses complete; made again from the responses (as for rows
    written in bulk, or at the upgrade) they are the same rows and give the same results."""
    def kept():
        return sorted(session.execute(select(SurveyAnswerCount.question, SurveyAnswerCount.digest,
                                             SurveyAnswerCount.value, SurveyAnswerCount.n)
                                      .where(SurveyAnswerCount.survey_id == answered.id)).all())

    before, computed = kept(), results.compute(session=session, survey=answered)
    assert sum(n for q, _, value, n in before if (q, value) == ("know", '"是"')) == 4
    counts.recount(session=session, survey_id=answered.id)
    assert kept() == before and results.compute(session=session, survey=answered) == computed


def test_the_export(session, answered):
    book = openpyxl.load_workbook(io.BytesIO(export.workbook_bytes(session=session, survey=answered,
                                                                   masked=False)))
    assert book.sheetnames == ["答卷", "答卷代码", "编码表", "汇总"]
    head = [c.value for c in book["答卷"][1]]
    assert head[:5] == ["序号", "日期", "行业门类", "园区", "企业规模"]
    assert head[5:] == ["know 是否了解", "know-其他", "nps 推荐意愿", "m.效率 评价：效率", "m.态度 评价：态度",
                        "rank 排序", "advice 建议"]
    rows = [[c.value for c in row] for row in book["答卷"].iter_rows(min_row=2)]
    assert {r[2] for r in rows} == {"制造业", "信息传输、软件和信息技术服务业"}
    assert ["其他", "不清楚"] in [r[5:7] for r in rows]
    formula = next(c for row in book["答卷"].iter_rows(min_row=2) for c in row
                   if isinstance(c.value, str) and c.value.startswith("="))
    assert formula.data_type == "s"  # text, not a live formula
    assert [c.value for c in book["答卷代码"][1]][5] == "know"
    assert ["rank", "排序", "ranking", "", ""] in [[c.value if c.value is not None else "" for c in r]
                                                for r in book["编码表"].iter_rows()]


def test_analysts_read_free_text_masked(client, session, answered):
    analyst = make_staff(session, Role.analyst)
    session.commit()
    headers = {"Authorization": f"Bearer {issue_token(analyst.id, analyst.role.value)}"}
    r = client.get(f"/api/surveys/{answered.id}/results", headers=headers)
    assert r.status_code == 200 and "13812345678" not in r.text
    r = client.get(f"/api/surveys/{answered.id}/export.xlsx", headers=headers)
    assert r.status_code == 200 and "13812345678" not in str(
        [c.value for row in openpyxl.load_workbook(io.BytesIO(r.content))["答卷"].iter_rows() for c in row])
