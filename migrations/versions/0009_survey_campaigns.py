"""survey campaigns: a campaign may be a survey's invitation or reminder round

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('survey_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('survey_round', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_campaign_survey_id_survey'), 'survey', ['survey_id'], ['id'],
                                 ondelete='CASCADE')
        batch.create_unique_constraint('uq_campaign_survey_id_survey_round', ['survey_id', 'survey_round'])


def downgrade() -> None:
    with op.batch_alter_table('campaign') as batch:
        batch.drop_constraint('uq_campaign_survey_id_survey_round', type_='unique')
        batch.drop_constraint(batch.f('fk_campaign_survey_id_survey'), type_='foreignkey')
        batch.drop_column('survey_round')
        batch.drop_column('survey_id')
