"""survey_answer_count: each survey's answers counted as responses complete, filled from the responses

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'survey_answer_count',
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.String(length=40), nullable=False),
        sa.Column('digest', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('industry_section', sa.String(length=1), nullable=True),
        sa.Column('park_id', sa.Integer(), nullable=True),
        sa.Column('size', sa.String(length=2), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['park_id'], ['park.id'], name=op.f('fk_survey_answer_count_park_id_park'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_answer_count_survey_id_survey'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('survey_id', 'question', 'digest', name=op.f('pk_survey_answer_count')),
    )
    # the responses already there, counted once as completion now counts them
    from surveys import counts

    session = Session(bind=op.get_bind())
    for survey_id in session.scalars(sa.text('SELECT DISTINCT survey_id FROM survey_response')).all():
        counts.recount(session=session, survey_id=survey_id)
    session.flush()


def downgrade() -> None:
    op.drop_table('survey_answer_count')
