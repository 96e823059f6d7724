"""import_job: staff uploads imported by the worker, with the upload kept until then

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'import_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('fmt', sa.String(length=8), nullable=False),
        sa.Column('status', sa.Enum('queued', 'running', 'done', 'refused', 'failed', name='importstatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=1000), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_import_job_actor_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job')),
    )


def downgrade() -> None:
    op.drop_table('import_job')
