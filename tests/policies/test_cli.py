import json

from typer.testing import CliRunner

from cli.main import app as cli
from core.db import session_scope
from policies.models import FaqEntry, Policy
from policies.seed import FAQ
from staff.models import AuditEntry

runner = CliRunner()


def test_import_faq_shows_progress_and_report(app_env):
    r = runner.invoke(cli, ["import", "faq", str(FAQ)])
    assert r.exit_code == 0, r.output
    assert "created 215" in r.output and "215/215" in r.output
    r = runner.invoke(cli, ["import", "faq", str(FAQ)])
    assert "unchanged 215" in r.output
    with session_scope() as session:
        assert session.query(FaqEntry).count() == 215
        assert session.query(AuditEntry).filter_by(action="faq.import").count() == 2


def test_import_with_bad_rows_exits_1_and_stores_nothing(app_env, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("问题,答案,附注\n好问题,好答案,\n坏问题,,\n", encoding="utf-8")
    r = runner.invoke(cli, ["import", "faq", str(path)])
    assert r.exit_code == 1 and "nothing was stored" in r.output and "附注" in r.output
    assert "3" in r.output and "答案" in r.output
    with session_scope() as session:
        assert session.query(FaqEntry).count() == 0


def test_unusable_file_exits_2(app_env, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("甲,乙\n1,2\n", encoding="utf-8")
    r = runner.invoke(cli, ["import", "faq", str(path)])
    assert r.exit_code == 2 and "未写入任何数据" in r.output


def test_import_policies_and_export_faq(app_env, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"标题": "办法", "文号": "C1", "背景依据": "依据"}]), encoding="utf-8")
    r = runner.invoke(cli, ["import", "policies", str(path)])
    assert r.exit_code == 0 and "created 1" in r.output, r.output
    with session_scope() as session:
        assert session.query(Policy).one().interpretation.background == "依据"
    runner.invoke(cli, ["import", "faq", str(FAQ)])
    r = runner.invoke(cli, ["export", "faq", str(tmp_path / "out.xlsx")])
    assert r.exit_code == 0 and "exported 215" in r.output
    r = runner.invoke(cli, ["import", "faq", str(tmp_path / "out.xlsx")])
    assert "unchanged 215" in r.output
