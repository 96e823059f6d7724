"""campaign: the last rejection and its reason; audit_entry: indexes for the log's filters

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('rejected_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('rejected_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('reject_reason', sa.String(length=500), nullable=True))
        batch.create_foreign_key(batch.f('fk_campaign_rejected_by_id_staff_user'), 'staff_user',
                                 ['rejected_by_id'], ['id'])
    op.create_index('ix_audit_entry_actor_id_id', 'audit_entry', ['actor_id', 'id'], unique=False)
    op.create_index('ix_audit_entry_action_id', 'audit_entry', ['action', 'id'], unique=False)
    op.create_index('ix_audit_entry_target_id', 'audit_entry', ['target', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_entry_target_id', table_name='audit_entry')
    op.drop_index('ix_audit_entry_action_id', table_name='audit_entry')
    op.drop_index('ix_audit_entry_actor_id_id', table_name='audit_entry')
    with op.batch_alter_table('campaign') as batch:
        batch.drop_constraint(batch.f('fk_campaign_rejected_by_id_staff_user'), type_='foreignkey')
        batch.drop_column('reject_reason')
        batch.drop_column('rejected_at')
        batch.drop_column('rejected_by_id')
