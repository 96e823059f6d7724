"""core.xlsx: formula-like text is written as text, control characters never make a workbook fail; and no
module writes a workbook any other way."""
import ast
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from core import xlsx

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["=HYPERLINK(\"http://evil\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _book(kind):
    wb = xlsx.streamed() if kind == "streamed" else xlsx.workbook(write_only=kind == "write-only")
    return wb, wb.active if kind == "styled" else wb.create_sheet("s")


@pytest.mark.parametrize("kind", ["write-only", "styled", "streamed"])
def test_text_that_looks_like_a_formula_is_written_as_text(kind):
    wb, ws = _book(kind)
    xlsx.append(ws, [*HOSTILE, "普通文字", 3, None])
    out = io.BytesIO()
    wb.save(out)
    sheet_xml = next(zipfile.ZipFile(out).read(n) for n in zipfile.ZipFile(out).namelist()
                     if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    cells = list(openpyxl.load_workbook(out).worksheets[0].iter_rows())[0]
    read_back = [h.replace("\r", "\n") for h in HOSTILE]  # XML reads a carriage return as a line feed
    assert [c.value for c in cells[:len(HOSTILE) + 2]] == [*read_back, "普通文字", 3]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells[:len(HOSTILE)])


def test_a_streamed_workbook_reads_back_as_written():
    wb = xlsx.streamed()
    xlsx.append(wb.create_sheet("答卷"), ["序号", " 前后有空格 ", "a<b & c>d", "企业\x01名称", None, 3, 2.5, -1, True])
    sheet = wb.create_sheet("汇总 & <其他>")
    for n in range(1, 30):
        xlsx.append(sheet, [None] * n + [n])  # columns past Z
    out = io.BytesIO()
    wb.save(out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["答卷", "汇总 & <其他>"]
    assert [c.value for c in book["答卷"][1]] == ["序号", " 前后有空格 ", "a<b & c>d", "企业名称", None, 3, 2.5, -1,
                                                True]
    assert book["汇总 & <其他>"]["AD29"].value == 29 and book["汇总 & <其他>"].max_row == 29
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))  # what the imports read with
    assert calamine.get_sheet_by_name("答卷").to_python()[0][:4] == ["序号", " 前后有空格 ", "a<b & c>d", "企业名称"]
    with pytest.raises(TypeError):
        xlsx.append(xlsx.streamed().create_sheet("s"), [float("nan")])


def test_put_sets_one_cell_safely_and_drops_control_characters():
    wb = xlsx.workbook()
    xlsx.put(wb.active["A1"], "=1+1")
    xlsx.put(wb.active["A2"], "企业\x01名称\x1f")
    out = io.BytesIO()
    wb.save(out)
    ws = openpyxl.load_workbook(out).active
    assert (ws["A1"].value, ws["A1"].data_type, ws["A2"].value) == ("=1+1", "s", "企业名称")


def test_only_core_xlsx_makes_workbooks():
    """Every export goes through core.xlsx, so none can write a live formula."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests", "bench", "data") or rel == Path("core/xlsx.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "openpyxl" for a in node.names):
                offenders.append(str(rel))
            if isinstance(node, ast.ImportFrom) and node.module == "openpyxl" and any(
                    a.name in ("Workbook", "load_workbook") for a in node.names):
                offenders.append(str(rel))
    assert offenders == []
