"""text_embedding: sentence embeddings of the library's passages, by content hash

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('text_embedding',
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('text_hash', name=op.f('pk_text_embedding'))
    )


def downgrade() -> None:
    op.drop_table('text_embedding')
