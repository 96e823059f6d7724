"""SQLAlchemy engine, session factory and the declarative base every domain's models share."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from core.settings import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use core.db.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class local_day(FunctionElement):  # noqa: N801 - used like func.x(...)
    """`YYYY-MM-DD` of a UTC timestamp column in the government's time zone (PUSH_TIMEZONE), for counts by
    day or (its first 7 characters) by month: PostgreSQL converts by the zone's name, SQLite by its UTC
    offset now (China keeps one offset all year)."""

    type = String()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw) -> str:
    zone = get_settings().push_timezone.replace("'", "")
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE '{zone}', 'YYYY-MM-DD')"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw) -> str:
    offset = int(datetime.now(ZoneInfo(get_settings().push_timezone)).utcoffset().total_seconds())
    return f"strftime('%Y-%m-%d', {compiler.process(element.clauses, **kw)}, '{offset:+d} seconds')"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


def make_engine(url: str) -> Engine:
    # hide_parameters: an error's text (and so a logged traceback) never quotes the values bound to a
    # statement, which hold contacts, phones and what followers typed
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # Kept open, as many as the server's handler threads: overflow connections would be opened and closed
    # again on every burst, and each opening costs PostgreSQL a new backend process.
    return create_engine(url, pool_size=32, max_overflow=0, pool_pre_ping=True, hide_parameters=True)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.db_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.db_url)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work outside a request (tasks, CLI): commit on success, roll back on error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def request_session() -> Iterator[Session]:
    """The request owns the transaction: commit when the route returns, roll back when it raises."""
    with session_scope() as session:
        yield session
