"""Processed updates (a redelivered webhook update has no second effect); outbox priority (personal
messages before mass messages).

Revision ID: 0009_i8_inbox
Revises: 0007_i8_indexes
Create Date: 2026-11-29 06:28:19.475924
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0009_i8_inbox'
down_revision: str | None = '0007_i8_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('processed_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_update'))
    )
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_update_processed_at'), ['processed_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.drop_index(batch_op.f('ix_outbox_due'))
        batch_op.create_index('ix_outbox_due', ['status', 'priority', 'not_before', 'id'], unique=False)
    op.execute("UPDATE outbox SET priority = 1 "
               "WHERE kind IN ('digest', 'news', 'new_idea', 'reminder', 'results', 'broadcast')")



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index(batch_op.f('ix_outbox_due'), ['status', 'not_before', 'id'], unique=False)
        batch_op.drop_column('priority')

    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_update_processed_at'))

    op.drop_table('processed_update')
