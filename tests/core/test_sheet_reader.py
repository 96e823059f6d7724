"""The reader's own limits, whoever calls it (the CLI too): a sheet that lies about its size ends only the
child process that reads it, and more rows than allowed are refused."""
import os

import pytest

from core import tabular
from tests.core import hostile_files

KNOWN = ["问题", "答案"]


def test_a_hidden_dimension_bomb_is_a_limit_error_and_the_process_lives(tmp_path):
    path = hostile_files.dimension_bomb(tmp_path / "b.xlsx", KNOWN, declared=False)
    assert os.path.getsize(path) < 2000
    with pytest.raises(tabular.LimitExceeded, match="超出了内存"), tabular.read(path, "xlsx", KNOWN) as sheet:
        list(sheet.rows)


def test_rows_stream_from_the_reader_with_their_numbers(tmp_path):
    path = hostile_files.many_rows(tmp_path / "r.xlsx", KNOWN, 1200, ["问", "答"], declared=False)
    with tabular.read(path, "xlsx", KNOWN, max_rows=1200) as sheet:
        rows = list(sheet.rows)
    assert (sheet.total, len(rows), rows[-1]) == (1200, 1200, (1201, {"问题": "问", "答案": "答"}))
    with pytest.raises(tabular.LimitExceeded, match="表格有 1201 行"), \
            tabular.read(path, "xlsx", KNOWN, max_rows=1000) as sheet:
        list(sheet.rows)


def test_csv_rows_are_counted_against_the_limit(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("问题,答案\n" + "问,答\n" * 4, encoding="utf-8")
    with tabular.read(path, "csv", KNOWN, max_rows=4) as sheet:
        assert len(list(sheet.rows)) == 4
    with pytest.raises(tabular.LimitExceeded, match="数据超过 3 行"), \
            tabular.read(path, "csv", KNOWN, max_rows=3) as sheet:
        list(sheet.rows)
