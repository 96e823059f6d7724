"""`policypush import enterprises FILE` and `policypush export enterprises FILE`."""
import openpyxl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app as cli
from core.db import session_scope
from staff.models import AuditEntry
from subscriptions import service
from subscriptions.models import Enterprise
from subscriptions.schemas import ParkCreate
from tests.subscriptions.enterprise_files import HEADERS, code, write_csv, write_xlsx

GOOD = [[code(n), f"企业{n}", "13", "高新区", "小", "专精特新", "张三", "13812345678"] for n in range(1, 4)]


@pytest.fixture
def db(app_env):
    with session_scope() as s:
        service.seed_reference_data(session=s)
        service.create_park(session=s, park_in=ParkCreate(name="高新区"))
    return app_env


def run(*args):
    return CliRunner().invoke(cli, list(args))


def codes():
    with session_scope() as s:
        return sorted(s.scalars(select(Enterprise.credit_code)))


def test_import_xlsx_shows_progress_of_a_known_total_and_the_report(db, tmp_path):
    r = run("import", "enterprises", str(write_xlsx(tmp_path / "e.xlsx", GOOD)))
    assert r.exit_code == 0, r.output
    assert "3/3" in r.output and "rows" in r.output  # the bar's done/total
    assert "created 3, updated 0, unchanged 0, rejected 0" in r.output
    assert codes() == [code(n) for n in range(1, 4)]
    again = run("import", "enterprises", str(tmp_path / "e.xlsx"))
    assert again.exit_code == 0 and "created 0, updated 0, unchanged 3" in again.output
    with session_scope() as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "enterprise.import")).all()) == 2


def test_import_csv_counts_rows_without_a_total_and_exits_1_on_bad_rows(db, tmp_path):
    rows = [*GOOD, [code(4)[:17] + "I", "坏", "13", None, None, None, None, None],
            [code(5), "坏园区", "13", "不存在园区", None, None, None, None]]
    r = run("import", "enterprises", str(write_csv(tmp_path / "e.csv", rows)))
    assert r.exit_code == 1, r.output
    assert "5 rows" in r.output  # no total for a CSV: the bar shows the rows done
    assert "created 3" in r.output and "rejected 2" in r.output
    assert "5" in r.output and "统一社会信用代码" in r.output and "园区“不存在园区”不存在" in r.output
    assert codes() == [code(n) for n in range(1, 4)]  # good rows are stored all the same


def test_import_lists_at_most_max_errors(db, tmp_path):
    rows = [[code(n)[:17] + "I", "坏", "13", None, None, None, None, None] for n in range(1, 6)]
    r = run("import", "enterprises", str(write_xlsx(tmp_path / "e.xlsx", rows)), "--max-errors", "2")
    assert r.exit_code == 1 and "and 3 more errors" in r.output


def test_unreadable_file_exits_2_and_stores_nothing(db, tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    r = run("import", "enterprises", str(tmp_path / "bad.xlsx"))
    assert r.exit_code == 2 and "无法导入" in r.output
    r = run("import", "enterprises", str(write_csv(tmp_path / "h.csv", GOOD, headers=["企业名称"])))
    assert r.exit_code == 2 and "表头缺少列" in r.output
    assert run("import", "enterprises", str(tmp_path / "missing.xlsx")).exit_code == 2  # typer: no such file
    assert codes() == []


def test_export_writes_the_import_columns(db, tmp_path):
    run("import", "enterprises", str(write_xlsx(tmp_path / "e.xlsx", GOOD)))
    r = run("export", "enterprises", str(tmp_path / "out.xlsx"))
    assert r.exit_code == 0 and "exported 3 enterprises" in r.output
    rows = list(openpyxl.load_workbook(tmp_path / "out.xlsx").worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and list(rows[1]) == GOOD[0]
