import json
from datetime import date

import pytest
from sqlalchemy import func, select

from core import tabular
from policies import policy_import, service
from policies.models import Policy, PolicyRevision, PolicyStatus
from tests.policies.conftest import FULL
from tests.policies.test_faq_import import write_xlsx

HEAD = ["标题", "文号", "发文机关", "发布日期", "施行日期", "失效日期", "状态", "修订后文号", "主题", "行业",
        "正文", "背景依据", "目标任务", "主要内容", "关键词", "涉及范围", "执行标准", "惠民利企举措", "新旧政策差异"]
PARTS = list(FULL.values())


def row(title, number, *, issued="2024-07-01", effective=None, expires=None, status=None, successor=None,
        topics=None, industries=None, body="正文", parts=PARTS):
    return [title, number, "市政府", issued, effective, expires, status, successor, topics, industries, body, *parts]


def count(session, model=Policy):
    return session.scalar(select(func.count()).select_from(model))


def test_xlsx_creates_policies_with_interpretations_and_links(seeded, tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [HEAD,
        row("旧办法", "葫政发〔2023〕1号", successor="葫政发〔2024〕2号", status="已修订"),
        row("新办法", "葫政发〔2024〕2号", issued=date(2024, 7, 1), topics="营商环境、科技创新", industries="C|39"),
        row("未来办法", "葫政发〔2024〕3号", effective="2099年1月1日", parts=["背景"] + [""] * 7)])
    progress = []
    report = policy_import.import_policies(session=seeded, path=path, progress=lambda d, t: progress.append(d))
    assert (report.rows, report.created, report.errors) == (3, 3, [])
    assert progress[-1] == 6
    old, new, future = (service.get_by_number(session=seeded, doc_number=f"葫政发〔{n}") for n in
                        ("2023〕1号", "2024〕2号", "2024〕3号"))
    assert (old.status, old.superseded_by) == (PolicyStatus.revised, new)
    assert (new.status, new.issued_on, new.industries) == (PolicyStatus.in_force, date(2024, 7, 1), ["C", "39"])
    assert [t.name for t in new.topics] == ["科技创新", "营商环境"] and new.completeness["complete"]
    assert future.status is PolicyStatus.pending and future.missing_parts()[0] == "目标任务"
    assert {r.via for r in seeded.scalars(select(PolicyRevision))} == {"import"}


def test_reimport_changes_nothing_and_changes_are_revisions(seeded, tmp_path):
    rows = [HEAD, row("办法", "X1", topics="营商环境"), row("另一办法", "X2", status="已废止")]
    policy_import.import_policies(session=seeded, path=write_xlsx(tmp_path / "a.xlsx", rows))
    revisions = count(seeded, PolicyRevision)
    again = policy_import.import_policies(session=seeded, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert count(seeded, PolicyRevision) == revisions
    changed = [HEAD, row("办法（修订）", "X1", topics=None, body=None, parts=[""] * 7 + ["新差异"])]
    report = policy_import.import_policies(session=seeded, path=write_xlsx(tmp_path / "b.xlsx", changed))
    assert (report.updated, report.unchanged) == (1, 0)
    policy = service.get_by_number(session=seeded, doc_number="X1")
    assert (policy.title, [t.name for t in policy.topics], policy.body) == ("办法（修订）", ["营商环境"], "正文")
    assert policy.interpretation.changes == "新差异" and policy.interpretation.background == "依据"
    actions = [r.action for r in service.history(session=seeded, policy_id=policy.id)[:2]]
    assert sorted(actions) == ["interpretation.update", "policy.update"]


def test_bad_rows_are_reported_and_nothing_is_written(seeded, tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [HEAD,
        row("好的", "G1"),
        row("", "G2", issued="2024-13-01"),
        row("状态错", "G3", status="作废", topics="不存在的主题", industries="Z"),
        row("修订无后续", "G4", status="已修订"),
        row("后续不存在", "G5", successor="无此文号"),
        row("日期倒挂", "G6", effective="2024-09-01", expires="2024-08-01"),
        row("重复", "G1")])
    report = policy_import.import_policies(session=seeded, path=path)
    got = [(e.row, e.column, e.code) for e in report.errors]
    assert got == [
        (3, "标题", "missing_required"), (3, "发布日期", "bad_date"),
        (4, "状态", "bad_status"), (4, "行业", "unknown_industry"), (4, "主题", "unknown_topic"),
        (5, "修订后文号", "missing_required"),
        (6, "修订后文号", "unknown_policy"),
        (7, "失效日期", "bad_dates"),
        (8, "文号", "duplicate_in_file")]
    assert "2024-13-01" in report.errors[1].reason
    assert count(seeded) == 0 and count(seeded, PolicyRevision) == 0


def test_json_with_field_names_and_nested_interpretation(seeded, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([
        {"title": "稳岗返还", "doc_number": "J1", "issued_on": "2024-07-01", "expires_on": "2024-12-31",
         "industries": ["C"], "topics": ["稳岗就业"], "来源": "https://gov.cn/j1", "备注": "x",
         "interpretation": {**FULL, "image_url": "https://gov.cn/j1.png"}},
        {"标题": "新稳岗返还", "文号": "J2", "修订后文号": None}]), encoding="utf-8")
    report = policy_import.import_policies(session=seeded, path=path)
    assert (report.created, report.errors, report.unknown_columns) == (2, [], ["备注"])
    j1 = service.get_by_number(session=seeded, doc_number="J1")
    assert (j1.source_url, j1.interpretation.image_url, j1.completeness["complete"]) == (
        "https://gov.cn/j1", "https://gov.cn/j1.png", True)
    assert j1.status in (PolicyStatus.in_force, PolicyStatus.expired)  # depends on today
    path.write_text(json.dumps([{"文号": "J1", "标题": "稳岗返还", "修订后文号": "J2"}]), encoding="utf-8")
    assert policy_import.import_policies(session=seeded, path=path).updated == 1
    assert j1.superseded_by.doc_number == "J2" and j1.status is PolicyStatus.revised


@pytest.mark.parametrize("content, message", [
    ("{not json", "JSON 格式错误"), ('{"a": 1}', "对象的列表"), ('[{"标题": "x"}]', "缺少列：文号")])
def test_unusable_json_is_a_file_error(session, tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(tabular.FileError, match=message):
        policy_import.import_policies(session=session, path=path)


def test_csv_is_not_for_policies(session, tmp_path):
    (tmp_path / "p.csv").write_text("标题,文号\n", encoding="utf-8")
    with pytest.raises(tabular.FileError, match=".xlsx 或 .xls 或 .json"):
        policy_import.import_policies(session=session, path=tmp_path / "p.csv")


def test_a_cycle_found_while_writing_is_raised_for_the_caller_to_roll_back(session, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"标题": "甲", "文号": "K1", "修订后文号": "K2"},
                                {"标题": "乙", "文号": "K2", "修订后文号": "K1"}]), encoding="utf-8")
    with pytest.raises(service.PolicyError, match="第2行：.*成环"):
        policy_import.import_policies(session=session, path=path)


def test_industries_may_be_given_by_their_chinese_names(seeded, tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [HEAD, row("名称办法", "葫政发〔2024〕9号", industries="制造业|农副食品加工业|ｊ")])
    report = policy_import.import_policies(session=seeded, path=path)
    assert (report.created, report.errors) == (1, [])
    assert seeded.scalar(select(Policy).where(Policy.doc_number == "葫政发〔2024〕9号")).industries == ["C", "13", "J"]
