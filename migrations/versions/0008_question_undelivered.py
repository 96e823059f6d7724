"""question: why WeChat did not take staff's answer

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('question', sa.Column('undelivered_reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('question') as batch:
        batch.drop_column('undelivered_reason')
