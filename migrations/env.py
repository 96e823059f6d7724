from alembic import context

from core import migrate, models
from core.db import get_engine


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with get_engine().begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=models.metadata(),
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      include_object=migrate.include_object)
    with context.begin_transaction():
        context.run_migrations()


run()
