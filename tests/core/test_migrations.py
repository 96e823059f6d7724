from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core import migrate, models
from core.db import make_engine


def test_migrations_build_exactly_the_models(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second run at start-up is a no-op
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, models.metadata()) == []
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()
