"""binding verification: enterprises and bindings marked verified

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:20:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enterprise') as batch:
        batch.add_column(sa.Column('verified_at', core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('enterprise_binding') as batch:
        batch.add_column(sa.Column('verified_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('verified_by', sa.String(length=80), nullable=True))
    # Existing bindings stay unverified: nobody checked them. Enterprises staff made (API, import) count as
    # verified; one a follower registered in the chat was bound in the same transaction that made it.
    op.execute("""
        UPDATE enterprise SET verified_at = created_at
        WHERE NOT EXISTS (SELECT 1 FROM enterprise_binding b WHERE b.enterprise_id = enterprise.id
                          AND b.bound_at <= enterprise.created_at + INTERVAL '5 seconds')
    """ if op.get_bind().dialect.name == "postgresql" else """
        UPDATE enterprise SET verified_at = created_at
        WHERE NOT EXISTS (SELECT 1 FROM enterprise_binding b WHERE b.enterprise_id = enterprise.id
                          AND julianday(b.bound_at) - julianday(enterprise.created_at) <= 5.0 / 86400)
    """)


def downgrade() -> None:
    with op.batch_alter_table('enterprise_binding') as batch:
        batch.drop_column('verified_by')
        batch.drop_column('verified_at')
    with op.batch_alter_table('enterprise') as batch:
        batch.drop_column('verified_at')
