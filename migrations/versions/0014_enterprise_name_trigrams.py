"""enterprise name search by any part of the name served by an index (pg_trgm) on PostgreSQL

Revision ID: 0014
Revises: 0013

Only on PostgreSQL, and only where the pg_trgm extension is installed or may be installed: without it the
search reads the table as before (slower, same results). The index is not in the models
(core.migrate.UNMODELLED_INDEXES says why).
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEX = 'ix_enterprise_name_trgm'
log = logging.getLogger("alembic.runtime.migration")


def _trgm_schema(bind) -> str | None:
    """The schema holding pg_trgm, installing it (into public, which outlives any one app schema) if it
    is available and we may; None when it cannot be had."""
    def installed() -> str | None:
        return bind.scalar(sa.text("SELECT nspname FROM pg_extension JOIN pg_namespace n ON n.oid = extnamespace "
                                   "WHERE extname = 'pg_trgm'"))

    if schema := installed():
        return schema
    if not bind.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")):
        return None
    in_public = bind.scalar(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"))
    try:
        with bind.begin_nested():  # a refusal (not superuser, no CREATE) must not abort the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm" + (" SCHEMA public" if in_public else "")))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm cannot be installed (%s): enterprise name search stays unindexed",
                    str(exc.orig).splitlines()[0])
    return installed()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    schema = _trgm_schema(bind)
    if schema is None:
        return
    quoted = bind.dialect.identifier_preparer.quote(schema)
    # the operator class named by its schema: the app's search_path may hold only the app's own schema
    op.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON enterprise USING gin (name {quoted}.gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {INDEX}')
