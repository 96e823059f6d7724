"""Migrating a fresh database loads the shipped policy topics and enterprise tags (the chat's `订阅`
and any import naming a 标签 need them); a second migrate leaves staff's edits alone."""
from typer.testing import CliRunner

from cli.main import app as cli
from core.db import session_scope
from subscriptions import service
from subscriptions.models import Enterprise
from tests.bot.conftest import say
from tests.conftest import clear_caches
from tests.subscriptions.enterprise_files import code, write_csv


def test_migrate_on_a_fresh_database_loads_topics_and_tags(db_url, monkeypatch, redis_client):
    monkeypatch.setenv("DATABASE_URL", db_url)
    clear_caches()
    first = CliRunner().invoke(cli, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "loaded 13 policy topics and 12 enterprise tags" in first.output
    with session_scope() as session:
        assert [t.name for t in service.list_topics(session=session)][:2] == ["科技创新", "财税金融"]
        assert "专精特新" in {t.name for t in service.list_tags(session=session)}
        service.list_topics(session=session)[0].active = False  # staff's edit
    again = CliRunner().invoke(cli, ["migrate"])
    assert again.output.strip() == "database is up to date"
    with session_scope() as session:
        assert len(service.list_topics(session=session)) == 12
    clear_caches()


def test_an_import_with_a_tag_works_on_a_fresh_database(db_url, monkeypatch, redis_client, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    clear_caches()
    rows = [[code(1), "企业一", "13", "", "小", "专精特新", "张三", "13812345678"]]
    r = CliRunner().invoke(cli, ["import", "enterprises", str(write_csv(tmp_path / "e.csv", rows))])
    assert r.exit_code == 0, r.output
    with session_scope() as session:
        assert [t.name for t in session.query(Enterprise).one().tags] == ["专精特新"]
    clear_caches()


def test_subscribe_lists_the_topics_once_the_server_has_started(client):
    reply = say(client, "oFreshInstall01", "订阅")
    assert "1. 科技创新" in reply and "暂无" not in reply
