import io

import openpyxl
import pytest
from sqlalchemy import select

from core.tabular import FileError
from subscriptions.importer import export_enterprises, import_enterprises
from subscriptions.models import Enterprise
from tests.subscriptions.enterprise_files import HEADERS, code, write_csv, write_xlsx

GOOD = [
    [code(1), "葫芦岛渤海造船有限公司", "37", "高新区", "大", "规上企业、高新技术企业", "张三", "13812345678"],
    [code(2), "兴城泳装有限公司", "18", "经开区", "小", "小微企业", "李四", "0429-3123456"],
    [code(3), "绥中软件科技有限公司", "C3911", None, "微", None, None, None],
]


def _codes(session):
    return session.scalars(select(Enterprise.credit_code).order_by(Enterprise.credit_code)).all()


def test_import_stores_good_rows(seeded, tmp_path):
    report = import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "e.xlsx", GOOD), fmt="xlsx")
    assert (report.rows, report.created, report.updated, report.unchanged, report.errors) == (3, 3, 0, 0, [])
    e = seeded.scalar(select(Enterprise).where(Enterprise.credit_code == code(1)))
    assert (e.name, e.industry_code, e.park.name, e.size) == ("葫芦岛渤海造船有限公司", "37", "高新区", "大")
    assert {t.name for t in e.tags} == {"规上企业", "高新技术企业"}
    assert (e.contact_name, e.contact_phone) == ("张三", "13812345678")
    assert "13812345678" not in repr(e) and "张三" not in repr(e) and code(1) not in repr(e)
    e3 = seeded.scalar(select(Enterprise).where(Enterprise.credit_code == code(3)))
    assert (e3.industry_code, e3.park, e3.tags) == ("39", None, [])


def test_reimport_changes_nothing(seeded, tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", GOOD)
    import_enterprises(session=seeded, path_or_file=path)
    before = {e.credit_code: e.updated_at for e in seeded.scalars(select(Enterprise))}
    report = import_enterprises(session=seeded, path_or_file=path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    seeded.expire_all()
    assert {e.credit_code: e.updated_at for e in seeded.scalars(select(Enterprise))} == before


def test_changes_are_counted_and_empty_cells_keep_values(seeded, tmp_path):
    import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "a.xlsx", GOOD))
    changed = [
        [code(1), "葫芦岛渤海造船有限公司", "37", "高新区", "大", "规上企业", "张三", "13812345678"],  # tags
        [code(2), "兴城泳装有限公司", "18", None, None, None, None, None],  # empty cells: kept
        [code(3), "绥中软件科技有限公司", "65", None, "微", None, None, None],  # industry
        [code(4), "新企业", "01", None, None, None, None, None],
    ]
    report = import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "b.xlsx", changed))
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 2, 1, [])
    seeded.expire_all()
    e1, e2, e3 = (seeded.scalar(select(Enterprise).where(Enterprise.credit_code == code(n))) for n in (1, 2, 3))
    assert [t.name for t in e1.tags] == ["规上企业"]
    assert (e2.park.name, e2.size, [t.name for t in e2.tags], e2.contact_name) == ("经开区", "小", ["小微企业"], "李四")
    assert e3.industry_code == "65"


def test_every_bad_row_is_reported(seeded, tmp_path):
    bad_check = code(20)[:17] + ("0" if code(20)[17] != "0" else "1")
    rows = [
        GOOD[0],                                                            # row 2: good
        [bad_check, "校验位错", "13", None, None, None, None, None],          # 3
        [code(21)[:10], "位数错", "13", None, None, None, None, None],        # 4
        [code(22), "行业错", "98", None, None, None, None, None],             # 5
        [code(23), "园区错", "13", "不存在园区", None, None, None, None],      # 6
        [code(1), "重复", "37", None, None, None, None, None],               # 7: duplicate of row 2
        [None, "缺代码", "13", None, None, None, None, None],                 # 8
        [code(24), None, None, None, None, None, None, None],               # 9: name and industry missing
        [code(25), "标签规模电话", "13", None, "特大", "专精特新;不存在标签", None, "call me"],  # 10
        [code(26), "只有门类", "C", None, None, None, None, None],            # 11
    ]
    report = import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "bad.xlsx", rows))
    got = {(e.row, e.column, e.code) for e in report.errors}
    assert got == {
        (3, "统一社会信用代码", "bad_credit_code"),
        (4, "统一社会信用代码", "bad_credit_code"),
        (5, "行业代码", "unknown_industry"),
        (6, "园区", "unknown_park"),
        (7, "统一社会信用代码", "duplicate_in_file"),
        (8, "统一社会信用代码", "missing_required"),
        (9, "企业名称", "missing_required"),
        (9, "行业代码", "missing_required"),
        (10, "规模", "bad_size"),
        (10, "标签", "unknown_tag"),
        (10, "联系电话", "bad_phone"),
        (11, "行业代码", "unknown_industry"),
    }
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert f"应为“{code(20)[17]}”" in reasons[(3, "统一社会信用代码")]
    assert "第2行" in reasons[(7, "统一社会信用代码")]
    assert "不存在园区" in reasons[(6, "园区")]
    assert "不存在标签" in reasons[(10, "标签")] and "专精特新" not in reasons[(10, "标签")]
    assert (report.rows, report.created, report.rejected_rows) == (10, 1, 9)
    assert _codes(seeded) == [code(1)]


def test_csv_utf8_and_gbk_with_tag_separators(seeded, tmp_path):
    rows = [[code(1), "甲公司", "13", "高新区", "中", "专精特新,高新技术企业", "王五", "13900000000"],
            [code(2), "乙公司", "14", "", "", "规上企业，小微企业|专精特新", "", ""],
            [code(3), "丙公司", "15", "", "", "科技型中小企业；小微企业", "", ""]]
    for n, encoding in enumerate(("utf-8-sig", "gbk")):
        path = write_csv(tmp_path / f"e{n}.csv", rows, encoding=encoding)
        report = import_enterprises(session=seeded, path_or_file=path)
        assert report.errors == [] and report.rows == 3
    e2 = seeded.scalar(select(Enterprise).where(Enterprise.credit_code == code(2)))
    assert {t.name for t in e2.tags} == {"规上企业", "小微企业", "专精特新"}
    assert len(seeded.scalar(select(Enterprise).where(Enterprise.credit_code == code(3))).tags) == 2


def test_upload_file_object_and_progress(seeded, tmp_path):
    rows = [[code(n), f"企业{n}", "13", None, None, None, None, None] for n in range(1, 26)]
    data = write_xlsx(tmp_path / "e.xlsx", rows).read_bytes()
    calls = []
    report = import_enterprises(session=seeded, path_or_file=io.BytesIO(data), fmt="xlsx",
                                progress=lambda done, total: calls.append((done, total)), batch=10)
    assert report.created == 25
    assert calls[0] == (10, 25) and calls[-1] == (25, 25)


def test_rows_keep_sheet_numbers_past_blank_rows(seeded, tmp_path):
    path = tmp_path / "gap.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["导入说明：每行一家企业"])  # a title line above the header
    ws.append(HEADERS)
    ws.append([code(1), "甲", "13"])
    ws.cell(row=6, column=1, value=code(2)[:17] + "X")  # rows 4-5 blank
    ws.cell(row=6, column=2, value="乙")
    ws.cell(row=6, column=3, value="13")
    wb.save(path)
    report = import_enterprises(session=seeded, path_or_file=path)
    assert report.rows == 2 and [e.row for e in report.errors] == [6]


def test_missing_header_and_unknown_format(seeded, tmp_path):
    with pytest.raises(FileError, match="企业名称"):
        import_enterprises(session=seeded, path_or_file=write_xlsx(
            tmp_path / "h.xlsx", [], headers=["统一社会信用代码", "行业代码"]))
    with pytest.raises(FileError):
        import_enterprises(session=seeded, path_or_file=tmp_path / "e.txt")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(FileError):
        import_enterprises(session=seeded, path_or_file=tmp_path / "broken.xlsx")


def test_export_round_trip(seeded, tmp_path):
    import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "in.xlsx", GOOD))
    out = tmp_path / "out.xlsx"
    assert export_enterprises(session=seeded, path_or_file=out) == 3
    rows = list(openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    # tags in the order staff created them (seed order), joined with 、
    assert rows[1] == (code(1), "葫芦岛渤海造船有限公司", "37", "高新区", "大", "高新技术企业、规上企业",
                       "张三", "13812345678")
    assert rows[3] == (code(3), "绥中软件科技有限公司", "39", None, "微", None, None, None)
    report = import_enterprises(session=seeded, path_or_file=out)
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 3, [])


def test_unknown_columns_are_named_in_the_report(seeded, tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", [[*GOOD[0], "老客户", "x"]], headers=[*HEADERS, "备注", "负责人"])
    report = import_enterprises(session=seeded, path_or_file=path)
    assert (report.created, report.unknown_columns) == (1, ["备注", "负责人"])


def test_full_width_codes_and_phones_are_normalised(seeded, tmp_path):
    wide = code(7).translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # what a Chinese IME types
    row = [wide, "全角企业", "Ｃ１３", None, None, None, "王五", "１３８１２３４５６７８"]
    report = import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "e.xlsx", [row]))
    assert (report.created, report.errors) == (1, [])
    e = seeded.scalar(select(Enterprise).where(Enterprise.name == "全角企业"))
    assert (e.credit_code, e.industry_code, e.contact_phone) == (code(7), "13", "13812345678")


def test_an_industry_given_by_its_chinese_name_maps_to_its_code(seeded, tmp_path):
    rows = [[code(1), "食品厂", "农副食品加工业", None, None, None, None, None],
            [code(2), "学校", "教育", None, None, None, None, None],  # a section and its division share the name
            [code(3), "某制造企业", "制造业", None, None, None, None, None]]  # a section of 31 divisions
    report = import_enterprises(session=seeded, path_or_file=write_xlsx(tmp_path / "e.xlsx", rows))
    assert report.created == 2
    assert dict(seeded.execute(select(Enterprise.name, Enterprise.industry_code)).all()) == {"食品厂": "13", "学校": "83"}
    assert [(e.row, e.code) for e in report.errors] == [(4, "unknown_industry")]
    assert "门类 C" in report.errors[0].reason and "大类名称" in report.errors[0].reason


def test_old_xls_files_are_read(seeded, tmp_path):
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("企业")
    for r, values in enumerate([HEADERS, *GOOD]):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    book.save(str(tmp_path / "old.xls"))
    report = import_enterprises(session=seeded, path_or_file=tmp_path / "old.xls")
    assert (report.rows, report.created, report.errors) == (3, 3, [])
    assert _codes(seeded) == sorted([code(1), code(2), code(3)])
