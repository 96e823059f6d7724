import csv
import filecmp
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from core import tabular
from policies import faq_import
from policies.models import FaqEntry
from policies.seed import FAQ
from tests.policies.conftest import make_policy

SHARED_FAQ = Path(__file__).resolve().parents[3] / "shared" / "data" / "faq-kb.csv"


def write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path, rows):
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def entries(session):
    return {e.question: e for e in session.scalars(select(FaqEntry))}


def test_the_shipped_knowledge_base_imports_as_it_is(session):
    if SHARED_FAQ.exists():
        assert filecmp.cmp(FAQ, SHARED_FAQ, shallow=False)
    progress = []
    report = faq_import.import_faq(session=session, path=FAQ, progress=lambda d, t: progress.append((d, t)))
    assert (report.rows, report.created, report.errors, report.unknown_columns) == (215, 215, [], [])
    assert progress[-1] == (215, 215)
    kb3 = session.scalar(select(FaqEntry).where(FaqEntry.external_id == "kb003"))
    assert (kb3.category, kb3.question) == ("社会保险", "领取失业保险金的条件?")
    assert kb3.answer.startswith("《中华人民共和国社会保险法》第四十五条") and kb3.source_url.startswith("http://")
    again = faq_import.import_faq(session=session, path=FAQ)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 215)


def test_any_subset_with_question_and_answer_and_unknown_columns_named(session, tmp_path):
    path = write_csv(tmp_path / "f.csv", [["答案", "备注", "问题", "相似问法", ""],
                                          ["可以。", "内部", "社保卡丢了能补吗", "社保卡丢失|社保卡 补办", None]])
    report = faq_import.import_faq(session=session, path=path)
    assert (report.created, report.unknown_columns) == (1, ["备注"])
    entry = entries(session)["社保卡丢了能补吗"]
    assert (entry.answer, entry.similar, entry.external_id, entry.category) == (
        "可以。", ["社保卡丢失", "社保卡 补办"], None, "")


def test_missing_required_column_is_a_file_error(session, tmp_path):
    with pytest.raises(tabular.FileError, match="缺少列：答案"):
        faq_import.import_faq(session=session, path=write_csv(tmp_path / "f.csv", [["编号", "问题"], ["1", "q"]]))
    with pytest.raises(tabular.FileError, match="没有表头"):
        faq_import.import_faq(session=session, path=write_csv(tmp_path / "g.csv", [["a", "b"], ["1", "2"]]))
    with pytest.raises(tabular.FileError, match="格式"):
        faq_import.import_faq(session=session, path=tmp_path / "f.txt")


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(session, tmp_path):
    make_policy(session, doc_number="葫政发〔2024〕1号")
    rows = [["标题行：FAQ 导入"],  # a title line above the header is skipped
            ["编号", "类目", "问题", "答案", "相关政策"],
            ["k1", "社会保险", "好问题", "好答案", "葫政发〔2024〕1号"],
            ["k2", "社会保险", "没有答案", "", ""],
            ["k1", "社会保险", "重复编号", "答", ""],
            ["k3", "", "问" * 501, "答", "葫政发〔2099〕9号"]]
    report = faq_import.import_faq(session=session, path=write_xlsx(tmp_path / "f.xlsx", rows))
    got = [(e.row, e.column, e.code) for e in report.errors]
    assert got == [(4, "答案", "missing_required"), (5, "编号", "duplicate_in_file"),
                   (6, "问题", "too_long"), (6, "相关政策", "unknown_policy")]
    assert "第3行" in report.errors[1].reason and report.rejected_rows == 3
    assert (report.rows, report.created) == (4, 0)
    assert session.scalars(select(FaqEntry)).all() == []


def test_upsert_by_external_id_or_else_question_and_empty_cells_keep(session, tmp_path):
    faq_import.import_faq(session=session, path=write_csv(tmp_path / "a.csv", [
        ["编号", "问题", "答案", "关键词", "来源"],
        ["k1", "问一", "答一", "社保、养老", "http://a.gov.cn"],
        ["", "问二", "答二", "", ""]]))
    report = faq_import.import_faq(session=session, path=write_csv(tmp_path / "b.csv", [
        ["编号", "问题", "答案", "关键词", "来源"],
        ["k1", "问一（改）", "答一", "", ""],  # matched by 编号: question changes, empty cells keep
        ["", "问二", "答二（新）", "", ""],  # matched by question
        ["k9", "问九", "答九", "", ""]]))
    assert (report.created, report.updated, report.unchanged) == (1, 2, 0)
    got = entries(session)
    assert (got["问一（改）"].keywords, got["问一（改）"].source_url) == (["社保", "养老"], "http://a.gov.cn")
    assert got["问二"].answer == "答二（新）" and len(got) == 3


def test_gbk_csv_from_excel(session, tmp_path):
    path = write_csv(tmp_path / "f.csv", [["问题", "答案"], ["医保怎么报销", "持卡结算。"]], encoding="gb18030")
    assert faq_import.import_faq(session=session, path=path).created == 1
    assert "医保怎么报销" in entries(session)


def test_export_round_trip_changes_nothing(session, tmp_path):
    make_policy(session, doc_number="葫政发〔2024〕1号")
    faq_import.import_faq(session=session, path=FAQ)
    faq_import.import_faq(session=session, path=write_csv(tmp_path / "a.csv", [
        ["编号", "问题", "答案", "相似问法", "关键词", "发文单位", "相关政策"],
        ["x1", "问, 含逗号", "答", "说法一|说法二, 含逗号", "甲|乙", "市人社局", "葫政发〔2024〕1号"]]))
    out = io.BytesIO()
    assert faq_import.export_faq(session=session, path_or_file=out) == 216
    sheet = list(openpyxl.load_workbook(io.BytesIO(out.getvalue())).active.values)
    assert list(sheet[0]) == list(faq_import.COLUMNS)
    assert sheet[-1][4] == "说法一|说法二, 含逗号"
    out.seek(0)
    report = faq_import.import_faq(session=session, path=out, fmt="xlsx")
    assert (report.rows, report.created, report.updated, report.unchanged, report.errors) == (216, 0, 0, 216, [])
    x1 = session.scalar(select(FaqEntry).where(FaqEntry.external_id == "x1"))
    assert (x1.similar, x1.keywords, x1.issuer, x1.policy_number) == (
        ["说法一", "说法二, 含逗号"], ["甲", "乙"], "市人社局", "葫政发〔2024〕1号")


def test_export_writes_formulas_as_text_and_survives_rows_stored_with_control_characters(session):
    session.add(FaqEntry(question="=cmd|' /C calc'!A0", answer="+答案", category="", similar=["@SUM(1)"],
                         keywords=[], issuer="", source_url=""))
    session.add(FaqEntry(question="旧问题\x02", answer="旧\x1b答案", category="", similar=[], keywords=[], issuer="",
                         source_url=""))
    session.flush()
    out = io.BytesIO()
    assert faq_import.export_faq(session=session, path_or_file=out) == 2
    rows = list(openpyxl.load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())
    question, answer, similar = rows[1][2], rows[1][3], rows[1][4]
    assert (question.value, answer.value, similar.value) == ("=cmd|' /C calc'!A0", "+答案", "@SUM(1)")
    assert {question.data_type, answer.data_type, similar.data_type} == {"s"}
    assert (rows[2][2].value, rows[2][3].value) == ("旧问题", "旧答案")


def test_import_refuses_control_characters(session, tmp_path):
    report = faq_import.import_faq(session=session, path=write_csv(tmp_path / "c.csv", [
        ["问题", "答案"], ["好问题", "好答案"], ["坏\x00问题", "答案"]]))
    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, "问题", "control_character")]
    assert entries(session) == {}
