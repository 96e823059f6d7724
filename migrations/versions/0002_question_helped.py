"""question: what the follower said answered a withdrawn question

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('question', sa.Column('helped_kind', sa.String(length=16), nullable=True))
    op.add_column('question', sa.Column('helped_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('question') as batch:
        batch.drop_column('helped_id')
        batch.drop_column('helped_kind')
