"""Apply the Alembic migrations, once, even when several processes start together."""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.db import get_engine
from core.settings import ROOT, get_settings

_LOCK_ID = 0x50504D47  # any constant shared by all processes of this project
# Indexes that migrations make only where the database can serve them, so the models (and create_all)
# leave them out: the enterprise name's trigram index needs PostgreSQL with pg_trgm (migration 0014).
UNMODELLED_INDEXES = frozenset({"ix_enterprise_name_trgm"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's comparison of the models with a database, without UNMODELLED_INDEXES."""
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


@contextmanager
def _migration_lock(engine: Engine):
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
    else:
        lock_dir: Path = get_settings().data_dir
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / "migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield


def upgrade(engine: Engine | None = None) -> dict[str, int]:
    """Migrate to head, then fill the empty topic and enterprise-tag tables from `subscriptions/data/`
    (staff edit them afterwards). Returns how many topics and tags this call loaded."""
    from subscriptions.service import seed_reference_data

    engine = engine or get_engine()
    with _migration_lock(engine):
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with Session(engine) as session:
            loaded = seed_reference_data(session=session)
            session.commit()
    return loaded


def loaded_text(loaded: dict[str, int]) -> str:
    """What `migrate` and `run` print about the database they brought up to date."""
    if not any(loaded.values()):
        return "database is up to date"
    return (f"database is up to date; loaded {loaded['topics']} policy topics and {loaded['tags']} enterprise "
            "tags from subscriptions/data/")
