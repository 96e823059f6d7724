"""staff_user: who created the account (four eyes: they cannot approve its author's campaigns)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_user') as batch:
        batch.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_staff_user_created_by_id_staff_user'), 'staff_user',
                                 ['created_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_constraint(batch.f('fk_staff_user_created_by_id_staff_user'), type_='foreignkey')
        batch.drop_column('created_by_id')
