from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from core import migrate, models
from core.db import make_engine


def test_migrations_build_exactly_the_models(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second run at start-up is a no-op
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": migrate.include_object})
        assert compare_metadata(ctx, models.metadata()) == []
    assert "alembic_version" in inspect(engine).get_table_names()
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("enterprise")}
    # PostgreSQL here has pg_trgm: the name search's index is made (and only there)
    assert ("ix_enterprise_name_trgm" in indexes) == (engine.dialect.name == "postgresql")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            definition = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_enterprise_name_trgm'"
                                          " AND schemaname = current_schema()"))
        assert "USING gin (name" in definition and "gin_trgm_ops" in definition
    engine.dispose()
