"""The staff-file reader every importer uses: sheet row numbers, and each way a file can be unusable."""
import csv
import io

import openpyxl
import pytest

from core import tabular

KNOWN = ["问题", "答案"]


def test_rows_keep_sheet_numbers_when_the_sheet_starts_below_row_1(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row, values in ((3, KNOWN), (4, ["问一", "答一"]), (6, ["问二", None])):  # rows 1, 2 and 5 blank
        for column, value in enumerate(values, start=1):
            ws.cell(row=row, column=column, value=value)
    wb.save(tmp_path / "f.xlsx")
    with tabular.read(tmp_path / "f.xlsx", "xlsx", KNOWN) as sheet:
        assert (sheet.columns, sheet.total) == (KNOWN, 3)
        assert [number for number, _ in sheet.rows] == [4, 6]


@pytest.mark.parametrize("data, fmt, message", [
    (b"\xff\xfe\xff\n", "csv", "第1行附近无法读取：CSV 文件编码无法识别"),  # neither UTF-8 nor GBK
    ("问题,答案\n问,答\n问,".encode() + b"x" * (csv.field_size_limit() + 1), "csv", "第3行附近无法读取：CSV 格式错误"),
    ("说明\n".encode() * 10 + "问题,答案\n".encode(), "csv", "前10行中没有表头"),
    (b"", "json", "不支持的格式"),
])
def test_unusable_files_are_a_file_error(data, fmt, message):
    with pytest.raises(tabular.FileError, match=message), tabular.read(io.BytesIO(data), fmt, KNOWN) as sheet:
        list(sheet.rows)


def test_a_missing_file_is_a_file_error(tmp_path):
    with pytest.raises(tabular.FileError, match="无法读取文件"), tabular.read(tmp_path / "no.csv", "csv", KNOWN):
        pass
