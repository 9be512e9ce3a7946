"""index person aliases by surname

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 18:50:00

Linking "Mrs Okonkwo" to a known full name looked for aliases ending in the
surname with LIKE, which reads the whole table. The new column holds that last
word, filled here for the aliases stored already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import alias_surname

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person_aliases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surname', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_aliases_surname'), ['surname'], unique=False)

    aliases = sa.table('person_aliases', sa.column('id'), sa.column('alias'), sa.column('surname'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(aliases.c.id, aliases.c.alias)).all()
    values = [
        {'row_id': row_id, 'surname': alias_surname(alias)}
        for row_id, alias in rows
        if alias_surname(alias) is not None
    ]
    if values:
        connection.execute(
            aliases.update().where(aliases.c.id == sa.bindparam('row_id')).values(surname=sa.bindparam('surname')),
            values,
        )


def downgrade() -> None:
    with op.batch_alter_table('person_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_aliases_surname'))
        batch_op.drop_column('surname')
