"""staff_user: token version (revocation), demo flag; usernames in their canonical spelling

Revision ID: 0004
Revises: 0003
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

DEMO = ('demo-admin', 'demo-editor', 'demo-reviewer', 'demo-analyst')  # what `policypush run` seeded


def _canonical(name: str) -> str:  # staff.usernames.canonical as of this revision
    text = "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def upgrade() -> None:
    op.add_column('staff_user', sa.Column('token_version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('staff_user', sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False))
    conn = op.get_bind()
    users = sa.table('staff_user', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('demo', sa.Boolean))
    rows = conn.execute(sa.select(users.c.id, users.c.username)).all()
    taken = {name for _, name in rows}
    for user_id, name in rows:  # a name whose canonical spelling another account holds keeps its own
        new = _canonical(name)
        if new and new != name and new not in taken:
            conn.execute(users.update().where(users.c.id == user_id).values(username=new))
            taken.add(new)
    conn.execute(users.update().where(users.c.username.in_(DEMO)).values(demo=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_column('demo')
        batch.drop_column('token_version')
