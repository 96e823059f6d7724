"""Shared fixtures: real PostgreSQL where it answers, SQLite always; real Redis."""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from core import migrate, models
from core.db import make_engine

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# every process the tests start (servers, workers) uses the test Redis and a throwaway data dir
os.environ["REDIS_URL"] = TEST_REDIS_URL
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="policypush-test-"))
# followers' links in answers and pushes; the server refuses a loopback one against the real WeChat API
os.environ.setdefault("PUBLIC_BASE_URL", "http://policypush.test")
TEST_WECHAT = {"WECHAT_TOKEN": "testToken", "WECHAT_APPID": "wxtest0000000001", "WECHAT_SECRET": "testSecret",
               "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


def _postgres_answers() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


BACKENDS = ["sqlite"] + (["postgresql"] if _postgres_answers() else [])


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh empty database on `backend`: a SQLite file in `directory`, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_ADMIN_URL else "?"
    try:
        yield f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh empty database on each backend."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    models.metadata().create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def clear_caches() -> None:
    """Forget everything built from settings, so that the next use reads the environment again."""
    from core import db, redis as core_redis, settings
    from webhooks import api as webhook_api
    from wechat import client

    if db.get_engine.cache_info().currsize:
        db.get_engine().dispose()  # or every test leaves a pool of connections open
    for cached in (settings.get_settings, db.get_engine, db.session_factory, core_redis.redis_url,
                   core_redis.get_redis, core_redis.binary_redis, webhook_api.codec, client.get_client):
        cached.cache_clear()
    core_redis._async_clients.clear()


def build_schema(url: str) -> None:
    """The app's schema made from the models and stamped as migrated (tests/core holds the migrations
    to the models)."""
    engine = make_engine(url)
    models.metadata().create_all(engine)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")
    engine.dispose()


@contextmanager
def app_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Settings for the app under test: the database at `db_url` (its schema made from the models and
    stamped as migrated; tests/core/test_migrations.py holds the migrations to the models), the test
    Redis (flushed), a known account."""
    build_schema(db_url)
    for key, value in {**TEST_WECHAT, "DATABASE_URL": db_url, "REDIS_URL": TEST_REDIS_URL}.items():
        monkeypatch.setenv(key, value)
    clear_caches()
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    try:
        yield dict(os.environ)
    finally:
        clear_caches()


@pytest.fixture
def app_env(db_url, monkeypatch):
    with app_environment(db_url, monkeypatch) as env:
        yield env


@pytest.fixture
def client(app_env):
    from fastapi.testclient import TestClient

    from server import app

    with TestClient(app) as test_client:
        yield test_client
